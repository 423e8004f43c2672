//! Database connections and transactions that behave the same on SQLite and MySQL.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// Opens a connection pool. SQLite files get WAL, foreign keys and a busy timeout so that
/// concurrent writers wait for each other instead of failing.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    sea_orm::Database::connect(options).await
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), because a read that later upgrades to a write fails under
/// concurrency instead of waiting; on MySQL it is a plain transaction whose writers lock rows.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Whether a failed transaction may simply be run again: MySQL chose it as a deadlock
/// victim (SQLSTATE 40001), or SQLite found the database busy.
pub fn is_transient(err: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(err))
    | DbErr::Query(RuntimeErr::SqlxError(err))
    | DbErr::Conn(RuntimeErr::SqlxError(err))) = err
    else {
        return false;
    };
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| matches!(code.as_ref(), "40001" | "5" | "517"))
}

/// The unique index a failed write broke, as the database names it (SQLite: the
/// `table.column` list; MySQL: the index, `uq_<table>_<columns>`), or `None` when the
/// failure was something else. Both spellings contain the names of the indexed columns.
pub fn violated_unique(err: &DbErr) -> Option<String> {
    match err.sql_err()? {
        SqlErr::UniqueConstraintViolation(message) => Some(message),
        _ => None,
    }
}
