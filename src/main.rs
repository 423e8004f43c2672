//! The `paylater` command: runs the server and the operator tasks around it.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use paylater::{
    app::{self, AppState},
    auth::api_key::NewApiKey,
    clock::SystemClock,
    config::{AppEnv, Config, LogFormat},
    demo,
    domain::{checkout::MaxTotal, staff::StaffRole},
    graphql, healthcheck,
    ids::{NodeKind, decode, encode},
    service::{ServiceError, audit::Actor, key_rotation, merchants, staff},
};
use secrecy::ExposeSecret;
use tracing_subscriber::{EnvFilter, fmt};
use uuid::Uuid;

/// The server's allocator: per-thread caches keep the many small allocations of a GraphQL
/// request cheap, and freed memory goes back to the system instead of staying in
/// per-thread arenas. Chosen here, by the binary, not by the library.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// paylater: a GraphQL checkout API for buy-now-pay-later payments.
///
/// Configuration comes from the environment (DATABASE_URL, APP_ENV, PAYLATER_*) and an
/// optional TOML file named by PAYLATER_CONFIG; see the README for every setting.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// Address to listen on (overrides PAYLATER_LISTEN; default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default): migrates, seeds demo data in development, serves.
    Serve {
        /// Address to listen on (overrides PAYLATER_LISTEN; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ask the running server whether it is up (GET /healthz): exit 0 if it answers 2xx
    /// in time, else 1. For container health checks where the image has no curl.
    Healthcheck {
        /// What to ask instead (default: /healthz at the configured listen address, over
        /// loopback when that is 0.0.0.0 or [::]).
        #[arg(long)]
        url: Option<String>,
        /// How long the whole request may take, connecting included.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
        timeout_seconds: u64,
    },
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    ExportSchema {
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Create the demo merchant, API key and consumer (development only).
    SeedDemo,
    /// Re-encrypt sensitive columns under the first configured encryption key (run after
    /// adding a new key in front; then the old key can be removed).
    RotateKeys,
    /// Merchant onboarding.
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// The operator's staff: admins and support agents.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a member of staff with a generated password and TOTP secret (MFA is
    /// mandatory); prints both, once.
    Create {
        /// Their work email, used to sign in.
        #[arg(long)]
        email: String,
        /// `admin` (reads the audit log, and all support may) or `support` (reads any
        /// checkout or order, with personal data masked).
        #[arg(long, default_value = "support")]
        role: StaffRole,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant with every plan enabled; prints its ID and first API key, once.
    Create {
        /// The merchant's trading name.
        #[arg(long)]
        name: String,
        /// The merchant's own maximum checkout total, in whole major units of each
        /// checkout's currency (500: 500.00 EUR); it can only lower the platform maximum
        /// (PAYLATER_MAX_CHECKOUT_TOTAL). Without it the platform maximum applies.
        #[arg(long, value_name = "MAJOR_UNITS", value_parser = clap::value_parser!(i64).range(1..))]
        max_checkout_total: Option<i64>,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Set or clear a merchant's own maximum checkout total: createCheckout refuses a
    /// larger total with AMOUNT_TOO_LARGE. Running servers apply it within a minute.
    SetMaxCheckoutTotal {
        /// The merchant's ID, as `merchant create` printed it (or its UUID).
        merchant: String,
        /// Whole major units of each checkout's currency (500: 500.00 EUR), at most the
        /// platform maximum; or `none` to leave only the platform maximum.
        #[arg(value_name = "MAJOR_UNITS|none", value_parser = parse_maximum)]
        maximum: Maximum,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A merchant's maximum checkout total as given on the command line.
#[derive(Debug, Clone, Copy)]
struct Maximum(Option<MaxTotal>);

fn parse_maximum(text: &str) -> Result<Maximum, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Maximum(None));
    }
    text.parse::<i64>()
        .ok()
        .and_then(MaxTotal::from_major)
        .map(|maximum| Maximum(Some(maximum)))
        .ok_or_else(|| "expected a positive whole number of major units, or none".to_owned())
}

/// A merchant named on the command line by its global ID or its UUID.
fn merchant_id(text: &str) -> anyhow::Result<Uuid> {
    let text = text.trim();
    if let Ok(uuid) = Uuid::try_parse(text) {
        return Ok(uuid);
    }
    decode(text, NodeKind::Merchant).map_err(|_| anyhow::anyhow!("{text:?} is not a merchant ID"))
}

/// What a merchant's maximum checkout total is, for people and for scripts.
fn describe_maximum(merchant: &entity::merchant::Model, platform: MaxTotal, json: bool) -> String {
    let own = merchant
        .max_checkout_total_minor
        .map(MaxTotal::from_hundredths);
    let effective = platform.lowered_by(own);
    let id = encode(NodeKind::Merchant, merchant.id);
    if json {
        serde_json::json!({
            "merchantId": id,
            "maxCheckoutTotal": own.map(|own| own.to_string()),
            "maxCheckoutTotalMinor": merchant.max_checkout_total_minor,
            "platformMaxCheckoutTotal": platform.to_string(),
            "effectiveMaxCheckoutTotal": effective.to_string(),
        })
        .to_string()
    } else {
        match own {
            Some(own) => format!(
                "Merchant {id}: maximum checkout total {own} (major units of each checkout's currency); checkouts above {effective} are refused (platform maximum {platform})"
            ),
            None => format!(
                "Merchant {id}: no maximum checkout total of its own; the platform maximum {platform} applies"
            ),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads and validates the configuration, then starts logging as it says.
fn configure() -> anyhow::Result<Config> {
    let config = Config::load()?;
    init_logging(config.server.log_format);
    Ok(config)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve { listen: None });
    match command {
        Command::Serve { listen } => {
            let mut config = configure()?;
            if let Some(listen) = listen.or(cli.listen) {
                config.server.listen = listen;
            }
            paylater::server::run(config).await
        }
        Command::ExportSchema { output } => export_schema(output.as_ref()),
        Command::Healthcheck {
            url,
            timeout_seconds,
        } => {
            // The configuration names the listen address. Logging stays off: a probe run
            // every few seconds prints nothing unless it fails.
            let url = match url {
                Some(url) => url,
                None => healthcheck::local_url(&Config::load()?.server),
            };
            healthcheck::probe(&url, std::time::Duration::from_secs(timeout_seconds)).await
        }
        Command::Migrate => {
            let config = configure()?;
            let url = config.database.url.expose_secret();
            let db = paylater::db::connect(url, 1).await?;
            Migrator::up(&db, None)
                .await
                .context("cannot apply migrations")?;
            println!("migrations applied to {}", app::redact(url));
            Ok(())
        }
        Command::SeedDemo => {
            let config = configure()?;
            anyhow::ensure!(
                config.app_env == AppEnv::Development,
                "demo data is for development only (APP_ENV=production refuses it)"
            );
            let state = state(config).await?;
            let demo = demo::seed(&state.deps)
                .await
                .map_err(|err| anyhow::anyhow!(err.describe()))?;
            println!(
                "demo merchant {} with API key {}",
                demo.merchant_id, demo.api_key
            );
            Ok(())
        }
        Command::RotateKeys => {
            let state = state(configure()?).await?;
            let rewritten = key_rotation::rotate_all(&state.deps)
                .await
                .map_err(|err| anyhow::anyhow!(err.describe()))?;
            println!("re-encrypted {rewritten} values under the current key");
            Ok(())
        }
        Command::Merchant {
            command:
                MerchantCommand::Create {
                    name,
                    max_checkout_total,
                    json,
                },
        } => {
            let config = configure()?;
            let live = config.app_env == AppEnv::Production;
            let maximum = max_checkout_total
                .map(|major| {
                    MaxTotal::from_major(major)
                        .ok_or_else(|| anyhow::anyhow!("--max-checkout-total is too large"))
                })
                .transpose()?;
            let state = state(config).await?;
            let created = merchants::create_with_maximum(
                &state.deps,
                &name,
                None,
                NewApiKey::generate(live),
                maximum,
            )
            .await
            .map_err(|err| anyhow::anyhow!(err.describe()))?;
            let id = encode(NodeKind::Merchant, created.merchant.id);
            if json {
                let out = serde_json::json!({
                    "merchantId": id,
                    "name": created.merchant.name,
                    "apiKey": created.api_key.secret,
                    "apiKeyPrefix": created.api_key.prefix,
                    "maxCheckoutTotal": maximum.map(|maximum| maximum.to_string()),
                });
                println!("{out}");
            } else {
                let limit = match maximum {
                    Some(maximum) => format!("\n  maximum checkout total: {maximum}"),
                    None => String::new(),
                };
                println!(
                    "Created merchant {:?}\n  merchant ID: {id}\n  API key:     {}{limit}\n\nThe API key is shown only now; store it safely.",
                    created.merchant.name, created.api_key.secret
                );
            }
            Ok(())
        }
        Command::Merchant {
            command:
                MerchantCommand::SetMaxCheckoutTotal {
                    merchant,
                    maximum: Maximum(maximum),
                    json,
                },
        } => {
            let merchant_id = merchant_id(&merchant)?;
            let state = state(configure()?).await?;
            let deps = &state.deps;
            let merchant = merchants::set_max_checkout_total(
                deps,
                &Actor::command_line(),
                merchant_id,
                maximum,
            )
            .await
            .map_err(|err| match err {
                ServiceError::NotFound => anyhow::anyhow!("no merchant {merchant:?}"),
                other => anyhow::anyhow!(other.describe()),
            })?;
            println!(
                "{}",
                describe_maximum(&merchant, deps.max_checkout_total, json)
            );
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email, role, json },
        } => {
            let state = state(configure()?).await?;
            let created = staff::create(&state.deps, &Actor::command_line(), &email, role)
                .await
                .map_err(|err| anyhow::anyhow!(err.describe()))?;
            let id = encode(NodeKind::StaffMember, created.member.id);
            if json {
                let out = serde_json::json!({
                    "staffMemberId": id,
                    "email": created.member.email,
                    "role": created.member.role.as_str(),
                    "password": created.password,
                    "totpSecret": created.totp_secret,
                    "totpUri": created.provisioning_uri,
                });
                println!("{out}");
            } else {
                println!(
                    "Created {} {}\n  password:    {}\n  TOTP secret: {}\n  TOTP URI:    {}\n\nAdd the secret to an authenticator app, then sign in with the staffLogin mutation.\nThe password and secret are shown only now; store them safely.",
                    created.member.role,
                    created.member.email,
                    created.password,
                    created.totp_secret,
                    created.provisioning_uri
                );
            }
            Ok(())
        }
    }
}

fn export_schema(output: Option<&PathBuf>) -> anyhow::Result<()> {
    let sdl = graphql::sdl();
    match output {
        Some(path) => {
            std::fs::write(path, sdl).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            print!("{sdl}");
            Ok(())
        }
    }
}

async fn state(config: Config) -> anyhow::Result<AppState> {
    let db = app::open_database(&config.database).await?;
    AppState::new(config, db, Arc::new(SystemClock))
}

fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
