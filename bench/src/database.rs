//! The benchmark's own database: a SQLite file in a temporary directory, or a fresh
//! database on a MySQL/MariaDB server, created for one run and dropped after it.

use std::num::NonZeroU32;

use anyhow::{Context as _, bail};
use paylater::config::{AppEnv, AuthConfig, Config, DatabaseConfig, LimitsConfig, ServerConfig};
use sea_orm::ConnectionTrait;

/// Where the benchmark's data lives; [`BenchDatabase::remove`] cleans up.
pub enum BenchDatabase {
    /// A SQLite file, deleted with its directory.
    Sqlite {
        /// Keeps the directory alive until the benchmark ends.
        dir: tempfile::TempDir,
        /// `sqlite://…` of the file.
        url: String,
    },
    /// A database created on a MySQL/MariaDB server.
    Server {
        /// The server's URL without a database, for dropping it.
        server_url: String,
        /// The database's name.
        name: String,
        /// The URL of the database itself.
        url: String,
    },
}

impl BenchDatabase {
    /// A SQLite file named `name` in a new temporary directory, or, given a `mysql://`
    /// URL naming a database that does not exist yet, that database with `name` appended.
    pub async fn create(server: Option<&str>, name: &str) -> anyhow::Result<Self> {
        let Some(server) = server else {
            let dir = tempfile::Builder::new()
                .prefix("paylater-bench-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join(format!("{name}.db")).display()
            );
            return Ok(Self::Sqlite { dir, url });
        };
        let mut parsed = url::Url::parse(server).context("--database-url is not a URL")?;
        if parsed.scheme() != "mysql" {
            bail!("--database-url must be a mysql:// URL (SQLite is the default)");
        }
        let base = parsed.path().trim_start_matches('/').to_owned();
        if base.is_empty() || !base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("--database-url must name a fresh database of letters, digits and _");
        }
        let db_name = format!("{base}_{name}");
        parsed.set_path("");
        let server_url = parsed.to_string();
        let admin = sea_orm::Database::connect(server_url.as_str())
            .await
            .with_context(|| format!("cannot connect to {}", paylater::app::redact(&server_url)))?;
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .await
            .with_context(|| format!("cannot create database {db_name} (it must not exist yet)"))?;
        admin.close().await?;
        parsed.set_path(&db_name);
        Ok(Self::Server {
            server_url,
            name: db_name,
            url: parsed.to_string(),
        })
    }

    /// The URL the application connects to.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Server { url, .. } => url,
        }
    }

    /// Where the data is, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { dir, .. } => format!("SQLite in {}", dir.path().display()),
            Self::Server { url, .. } => paylater::app::redact(url),
        }
    }

    /// Deletes the data: the directory, or the server's database.
    pub async fn remove(self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { dir, .. } => {
                dir.close().context("cannot remove the temporary directory")
            }
            Self::Server {
                server_url, name, ..
            } => {
                let admin = sea_orm::Database::connect(server_url.as_str()).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
                    .await
                    .with_context(|| format!("cannot drop database {name}"))?;
                admin.close().await?;
                Ok(())
            }
        }
    }
}

/// Budgets far above what the benchmark spends, so throttling never shapes a figure.
const UNTHROTTLED: NonZeroU32 = match NonZeroU32::new(1_000_000_000) {
    Some(budget) => budget,
    None => NonZeroU32::MAX,
};

/// The configuration of the benchmarked server (and of the in-process population):
/// the defaults (development keys, the sandbox gateway) but for no demo data, no rate limits, and the
/// longest checkout and access-token lifetimes, so nothing expires during a run.
pub fn config(database_url: &str) -> Config {
    Config {
        app_env: AppEnv::Development,
        server: ServerConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            ..ServerConfig::default()
        },
        database: DatabaseConfig {
            url: database_url.into(),
            seed_demo: false,
            ..DatabaseConfig::default()
        },
        auth: AuthConfig {
            access_token_ttl_seconds: 3600,
            login_attempts_per_account_per_minute: UNTHROTTLED,
            login_attempts_per_ip_per_minute: UNTHROTTLED,
            ..AuthConfig::default()
        },
        limits: LimitsConfig {
            checkout_ttl_minutes: 2880,
            rate_limit_per_second: UNTHROTTLED,
            rate_limit_burst: UNTHROTTLED,
            rate_limit_ip_per_second: UNTHROTTLED,
            rate_limit_ip_burst: UNTHROTTLED,
            ..LimitsConfig::default()
        },
        ..Config::default()
    }
}
