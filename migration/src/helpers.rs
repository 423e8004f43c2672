//! Builders shared by the migrations, so that every foreign key and index is
//! named and configured by one rule instead of by hand in each migration.

use sea_orm_migration::prelude::*;

/// Foreign key from `from_table.from_col` to `to_table.id`.
///
/// Every table's primary key is `id`, and the constraint is named
/// `fk_<from_table>_<from_col>` so that a name can be derived from the column
/// it guards (MySQL/MariaDB need unique constraint names per database). Keys
/// never change, so ON UPDATE is always RESTRICT; only ON DELETE varies.
pub(crate) fn foreign_key(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    let (from_table, from_col) = (from_table.into_iden(), from_col.into_iden());
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Restrict)
        .to_owned()
}

/// Creates an index on `columns` of `table`, in the given order.
///
/// It is named `idx_<table>_<columns joined by _>`, or `uq_<table>_<…>` when
/// `unique`: the name then says what the index covers, and the table prefix
/// keeps it unique even on SQLite, where index names are per database.
pub(crate) async fn create_index(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = impl IntoIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    let columns: Vec<DynIden> = columns.into_iter().map(IntoIden::into_iden).collect();
    let joined = columns
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("_");
    let prefix = if unique { "uq" } else { "idx" };
    let mut index = Index::create();
    index
        .name(format!("{prefix}_{table}_{joined}"))
        .table(table);
    for column in columns {
        index.col(column);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index).await
}
