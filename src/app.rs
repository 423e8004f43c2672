//! Builds the application once at start: database, migrations, services, the payment
//! gateway, keys and the GraphQL schema. Serving it is [`crate::http`]'s, running it with
//! its background work [`crate::server`]'s.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::Duration;
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;

use crate::{
    auth::{
        jwt::KeyRing,
        throttle::{LoginLimits, LoginThrottle, RequestLimiter, RequestLimits},
    },
    clock::Clock,
    config::{AppEnv, Config, DatabaseConfig, GatewayConfig, GatewayKind},
    db,
    domain::webhook::UrlPolicy,
    encryption::Vault,
    events::{EventBus, WebhookSender},
    graphql::{self, Schemas},
    payments::{
        PaymentGateway,
        sandbox::SandboxGateway,
        stripe::{StripeGateway, StripeSettings},
    },
    service::{Deps, Retention, webhooks::WebhookSettings},
};

/// Everything a request handler needs, built once at start.
pub struct App {
    /// The validated configuration.
    pub config: Config,
    /// Use cases over the database.
    pub deps: Deps,
    /// The GraphQL schemas, holding a copy of the services.
    pub schema: Schemas,
}

/// Shared, cheaply cloned handle on the [`App`] for axum handlers.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Assembles the application over an open database with the given clock and the
    /// configured payment gateway.
    pub fn new(
        config: Config,
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let gateway = gateway(&config.gateway)?;
        Self::with_gateway(config, db, clock, gateway)
    }

    /// Assembles the application with a payment gateway of the caller's (a test's sandbox,
    /// shared by several instances as a real gateway would be).
    pub fn with_gateway(
        config: Config,
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        gateway: Arc<dyn PaymentGateway>,
    ) -> anyhow::Result<Self> {
        crate::tls::install_provider();
        let keys = key_ring(&config)?;
        let vault = vault(&config)?;
        let webhook_policy = UrlPolicy {
            https_only: config.webhooks.https_only,
            public_addresses_only: config.webhooks.public_addresses_only,
        };
        let deps = Deps {
            db,
            clock,
            checkout_ttl: Duration::minutes(config.limits.checkout_ttl_minutes),
            max_checkout_total: config.limits.max_checkout_total(),
            events: EventBus::default(),
            checkout_app_url: config.server.checkout_page_url(),
            live_mode: config.app_env == AppEnv::Production,
            key_usage: Default::default(),
            keys: Arc::new(keys),
            vault: Arc::new(vault),
            access_token_ttl: Duration::seconds(config.auth.access_token_ttl_seconds),
            // Signatures older than the tolerance are refused anyway; remember them that long.
            signature_replays: moka::future::Cache::builder()
                .time_to_live(std::time::Duration::from_secs(
                    2 * crate::auth::signing::TOLERANCE_SECONDS.unsigned_abs(),
                ))
                .max_capacity(1_000_000)
                .build(),
            request_limiter: Arc::new(RequestLimiter::new(RequestLimits {
                per_principal_per_second: config.limits.rate_limit_per_second,
                principal_burst: config.limits.rate_limit_burst,
                per_ip_per_second: config.limits.rate_limit_ip_per_second,
                ip_burst: config.limits.rate_limit_ip_burst,
            })),
            gateway,
            capture_window: Duration::days(i64::from(config.gateway.capture_window_days)),
            reconcile_after: Duration::seconds(i64::from(config.gateway.reconcile_after_seconds)),
            failpoints: Arc::default(),
            settled: Default::default(),
            login_throttle: Arc::new(LoginThrottle::new(LoginLimits {
                per_account: config.auth.login_attempts_per_account_per_minute,
                per_ip: config.auth.login_attempts_per_ip_per_minute,
            })),
            webhooks: WebhookSettings {
                policy: webhook_policy,
                retry_window: Duration::hours(i64::from(config.webhooks.retry_hours)),
            },
            caches: Arc::default(),
            retention: Retention {
                outbox_events: Duration::days(i64::from(config.jobs.outbox_retention_days)),
                webhook_deliveries: Duration::days(i64::from(config.webhooks.retention_days)),
            },
            webhook_sender: Arc::new(WebhookSender::new(
                webhook_policy,
                std::time::Duration::from_secs(config.webhooks.timeout_seconds),
            )),
        };
        let schema = graphql::build(deps.clone(), config.server.graphql_introspection)?;
        Ok(Self(Arc::new(App {
            config,
            deps,
            schema,
        })))
    }
}

/// The configured payment gateway; Stripe without its secret key is refused.
pub fn gateway(gateway: &GatewayConfig) -> anyhow::Result<Arc<dyn PaymentGateway>> {
    Ok(match gateway.in_use() {
        GatewayKind::Sandbox => Arc::new(SandboxGateway::new(std::time::Duration::from_millis(
            gateway.sandbox_latency_ms,
        ))),
        GatewayKind::Stripe => Arc::new(StripeGateway::new(StripeSettings {
            secret_key: gateway.stripe_secret_key.clone().context(
                "gateway.stripe_secret_key: the Stripe gateway needs the account's secret key",
            )?,
            api_base: gateway.stripe_api_base.clone(),
            timeout: std::time::Duration::from_secs(gateway.timeout_seconds),
        })),
    })
}

/// The JWT key ring: the configured keys, or in development without any, the built-in
/// development key. Production refuses the development key in any form.
pub fn key_ring(config: &Config) -> anyhow::Result<KeyRing> {
    let ring = if config.auth.jwt_keys.is_empty() {
        KeyRing::development()?
    } else {
        KeyRing::from_config(&config.auth.jwt_keys)?
    };
    anyhow::ensure!(
        !(config.app_env == AppEnv::Production && ring.has_development_key()),
        "auth.jwt_keys: production needs signing keys of its own; the built-in development key is public"
    );
    Ok(ring)
}

/// The encryption keys: the configured ones, or in development without any, the built-in
/// development key. Production refuses the development key.
pub fn vault(config: &Config) -> anyhow::Result<Vault> {
    let encryption = &config.encryption;
    let vault = if encryption.keys.is_empty() {
        Vault::development()?
    } else {
        Vault::new(&encryption.keys, encryption.lookup_key.as_ref())?
    };
    anyhow::ensure!(
        !(config.app_env == AppEnv::Production && vault.has_development_key()),
        "encryption.keys: production refuses the built-in development key"
    );
    Ok(vault)
}

/// Connects to the configured database and applies pending migrations if configured to.
pub async fn open_database(database: &DatabaseConfig) -> anyhow::Result<DatabaseConnection> {
    let url = database.url.expose_secret();
    let mut db = db::connect(url, database.max_connections)
        .await
        .with_context(|| format!("cannot open the database at {}", redact(url)))?;
    db.set_metric_callback(|info| crate::metrics::sql_statement(info.elapsed));
    if database.run_migrations {
        Migrator::up(&db, None)
            .await
            .context("cannot apply migrations")?;
    }
    Ok(db)
}

/// Hides the password of a database URL for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
