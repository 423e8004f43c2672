//! Typed configuration, read from defaults, an optional TOML file and the environment,
//! and validated once at start so a bad setting stops the server with a clear message.
//!
//! Sources, later ones winning: built-in defaults; the TOML file named by
//! `PAYLATER_CONFIG`; `PAYLATER_*` variables (e.g. `PAYLATER_LISTEN`); and the
//! conventional `DATABASE_URL` and `APP_ENV`.

use std::{fmt, net::SocketAddr, num::NonZeroU32, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::{
    auth::jwt::JwtKeyConfig,
    domain::checkout::{DEFAULT_MAX_TOTAL_MAJOR, LARGEST_MAX_TOTAL_MAJOR, MaxTotal},
    encryption::EncryptionKeyConfig,
};

/// Which kind of deployment this is; production refuses development conveniences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// A developer's machine: demo data and the built-in demo API key are allowed.
    Development,
    /// A real deployment: every development default is refused.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines for a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which payment gateway charges cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    /// The built-in sandbox: test cards, no real money, plus `/sandbox/tokenize` and
    /// `/sandbox/run-jobs`. Development and tests only.
    Sandbox,
    /// Stripe: cards tokenized by Stripe.js, charged off-session through the Stripe API
    /// with `stripe_secret_key`.
    Stripe,
}

/// Where the Stripe API lives unless `stripe_api_base` says otherwise.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

/// The default database: a SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://paylater.db?mode=rwc";

/// Every setting of the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `development` (default) or `production`.
    pub app_env: AppEnv,
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Database URL: `sqlite://…` or `mysql://…`.
    pub database_url: String,
    /// Upper bound of pooled database connections.
    pub database_max_connections: u32,
    /// Apply pending migrations when the server starts.
    pub run_migrations: bool,
    /// Create the demo merchant, API key and consumer at start (development only).
    pub seed_demo: bool,
    /// Where the checkout web app lives; a checkout's URL is this plus `/<token>`.
    pub checkout_app_url: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// How long a checkout stays open when the merchant gives no expiry, in minutes.
    pub checkout_ttl_minutes: i64,
    /// The largest total a checkout may have, in whole major units of the checkout's own
    /// currency (1000000: 1 000 000.00 EUR, 1 000 000 ISK). A merchant's own maximum can
    /// only lower it.
    pub max_checkout_total: i64,
    /// Serve schema introspection and field suggestions (default: development only).
    pub graphql_introspection: bool,
    /// Origins whose browser pages may call the API (CORS); empty allows none.
    pub cors_allowed_origins: Vec<String>,
    /// Keys that sign (the first with a private key) and verify access tokens; empty in
    /// development means the built-in development key, which production refuses.
    pub jwt_keys: Vec<JwtKeyConfig>,
    /// How long an access token lives, in seconds.
    pub access_token_ttl_seconds: i64,
    /// Keys encrypting sensitive columns (the first encrypts, all decrypt); empty in
    /// development means the built-in development key, which production refuses.
    pub encryption_keys: Vec<EncryptionKeyConfig>,
    /// Key of the hashes that find rows by email (64 hex digits); keep it when rotating
    /// `encryption_keys`. Required in production.
    pub encryption_lookup_key: Option<String>,
    /// Query cost units (complexity) a merchant or consumer regains per second.
    pub rate_limit_per_second: NonZeroU32,
    /// Most query cost units a merchant or consumer can spend at once.
    pub rate_limit_burst: NonZeroU32,
    /// Query cost units a client address regains per second.
    pub rate_limit_ip_per_second: NonZeroU32,
    /// Most query cost units a client address can spend at once.
    pub rate_limit_ip_burst: NonZeroU32,
    /// Login attempts allowed per account per minute.
    pub login_attempts_per_account_per_minute: NonZeroU32,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_ip_per_minute: NonZeroU32,
    /// How often open checkouts past their expiry are marked expired, in seconds.
    pub expiry_sweep_seconds: u64,
    /// PEM certificate chain; with `tls_key_file`, the server speaks HTTPS itself.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key_file: Option<PathBuf>,
    /// Log line format.
    pub log_format: LogFormat,
    /// The payment gateway; development defaults to the sandbox, production must name one.
    pub payment_gateway: Option<GatewayKind>,
    /// Latency the sandbox gateway adds to every call, in milliseconds, to behave like a
    /// card network (0: it answers at once).
    pub sandbox_latency_ms: u64,
    /// The Stripe account's secret key (`sk_live_…`, `sk_test_…` or a restricted `rk_…`),
    /// required with the Stripe gateway. Never printed: its `Debug` is redacted, and it is
    /// not serialized back out.
    #[serde(skip_serializing)]
    pub stripe_secret_key: Option<SecretString>,
    /// Base URL of the Stripe API; production requires https.
    pub stripe_api_base: String,
    /// How long one request to the payment gateway may take, connection included, in
    /// seconds; past it the call has no answer and is settled later under the same key.
    pub gateway_timeout_seconds: u64,
    /// Days a merchant has to capture an order before it is voided automatically.
    pub capture_window_days: u32,
    /// Seconds after which a payment the gateway did not answer (or a request that died
    /// before asking for one) is taken over by the reconciler.
    pub payment_reconcile_after_seconds: u32,
    /// How often a WebSocket connection is pinged to keep it alive, in seconds.
    pub websocket_keepalive_seconds: u64,
    /// How long a failing webhook delivery is retried, and an endpoint may fail before it
    /// is disabled, in hours.
    pub webhook_retry_hours: u32,
    /// How long one webhook request may take, connection included, in seconds.
    pub webhook_timeout_seconds: u64,
    /// Redis for fanning events out to the subscriptions of every instance (`redis://…`);
    /// without it each instance's subscriptions hear only the events it relays.
    pub redis_url: Option<String>,
    /// The Redis pub/sub channel of events; instances sharing it share their events.
    pub redis_channel: String,
    /// Webhook URLs must use https (production: always).
    pub webhooks_https_only: bool,
    /// Webhook URLs must reach public addresses, not private, loopback or link-local ones
    /// (production: always).
    pub webhooks_public_addresses_only: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            app_env: AppEnv::Development,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            database_max_connections: 8,
            run_migrations: true,
            seed_demo: true,
            checkout_app_url: "http://localhost:3000/checkout".to_owned(),
            body_limit_bytes: 256 * 1024,
            checkout_ttl_minutes: 60,
            max_checkout_total: DEFAULT_MAX_TOTAL_MAJOR,
            expiry_sweep_seconds: 15,
            jwt_keys: Vec::new(),
            access_token_ttl_seconds: 900,
            encryption_keys: Vec::new(),
            encryption_lookup_key: None,
            rate_limit_per_second: NonZeroU32::new(1_000).unwrap_or(NonZeroU32::MIN),
            rate_limit_burst: NonZeroU32::new(40_000).unwrap_or(NonZeroU32::MIN),
            rate_limit_ip_per_second: NonZeroU32::new(2_000).unwrap_or(NonZeroU32::MIN),
            rate_limit_ip_burst: NonZeroU32::new(80_000).unwrap_or(NonZeroU32::MIN),
            login_attempts_per_account_per_minute: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            login_attempts_per_ip_per_minute: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            graphql_introspection: true,
            cors_allowed_origins: Vec::new(),
            tls_cert_file: None,
            tls_key_file: None,
            log_format: LogFormat::Text,
            payment_gateway: None,
            sandbox_latency_ms: 0,
            stripe_secret_key: None,
            stripe_api_base: DEFAULT_STRIPE_API_BASE.to_owned(),
            gateway_timeout_seconds: 10,
            capture_window_days: 7,
            payment_reconcile_after_seconds: 60,
            websocket_keepalive_seconds: 15,
            webhook_retry_hours: 24,
            webhook_timeout_seconds: 10,
            webhooks_https_only: false,
            webhooks_public_addresses_only: false,
            redis_url: None,
            redis_channel: "paylater:events".to_owned(),
        }
    }
}

/// Why the configuration cannot be used; lists every problem at once.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or a value has the wrong type.
    #[error("cannot read configuration: {0}")]
    Read(#[from] Box<figment::Error>),
    /// Values were read but break a rule.
    #[error("invalid configuration:\n{}", Problems(.0))]
    Invalid(Vec<String>),
}

struct Problems<'a>(&'a [String]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl Config {
    /// The payment gateway in use: the configured one, or the sandbox in development.
    pub fn gateway(&self) -> GatewayKind {
        self.payment_gateway.unwrap_or(GatewayKind::Sandbox)
    }

    /// The platform's maximum checkout total (`max_checkout_total`, validated to fit).
    pub fn max_checkout_total(&self) -> MaxTotal {
        MaxTotal::from_major(self.max_checkout_total).unwrap_or_default()
    }

    /// The certificate and key files when HTTPS is configured.
    pub fn tls(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.tls_cert_file.as_ref().zip(self.tls_key_file.as_ref())
    }

    /// Reads every source and validates the result.
    pub fn load() -> Result<Self, ConfigError> {
        // What the operator set, apart from the defaults, so production can tell the two apart.
        let mut sources = Figment::new();
        if let Ok(path) = std::env::var("PAYLATER_CONFIG") {
            sources = sources.merge(Toml::file_exact(path));
        }
        let sources = sources
            .merge(Env::prefixed("PAYLATER_").ignore(&["config"]))
            .merge(Env::raw().only(&["DATABASE_URL", "APP_ENV"]));
        let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(sources.clone())
            .extract()
            .map_err(Box::new)?;
        // Development conveniences default to off in production unless set explicitly.
        if config.app_env == AppEnv::Production {
            let explicit = |name: &str| sources.contains(name);
            if !explicit("seed_demo") {
                config.seed_demo = false;
            }
            if !explicit("graphql_introspection") {
                config.graphql_introspection = false;
            }
            config.webhooks_https_only |= !explicit("webhooks_https_only");
            config.webhooks_public_addresses_only |= !explicit("webhooks_public_addresses_only");
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let production = self.app_env == AppEnv::Production;
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("mysql:")) {
            problems.push("DATABASE_URL must start with sqlite: or mysql:".to_owned());
        }
        if self.database_max_connections == 0 {
            problems.push("database_max_connections must be at least 1".to_owned());
        }
        match Url::parse(&self.checkout_app_url) {
            Ok(url) if production && url.scheme() != "https" => {
                problems.push("checkout_app_url must use https in production".to_owned())
            }
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                problems.push("checkout_app_url must be an http(s) URL".to_owned())
            }
            Ok(_) => {}
            Err(err) => problems.push(format!("checkout_app_url is not a URL: {err}")),
        }
        if self.body_limit_bytes < 1024 {
            problems.push("body_limit_bytes must be at least 1024".to_owned());
        }
        if !(5..=2880).contains(&self.checkout_ttl_minutes) {
            problems.push("checkout_ttl_minutes must be between 5 and 2880".to_owned());
        }
        if !(1..=LARGEST_MAX_TOTAL_MAJOR).contains(&self.max_checkout_total) {
            problems.push(format!(
                "max_checkout_total must be a whole number of major units between 1 and {LARGEST_MAX_TOTAL_MAJOR}"
            ));
        }
        for origin in &self.cors_allowed_origins {
            match Url::parse(origin) {
                Ok(url) if url.origin().ascii_serialization() == origin.trim_end_matches('/') => {}
                _ => problems.push(format!(
                    "cors_allowed_origins: {origin:?} is not an origin like https://shop.example"
                )),
            }
        }
        if !(1..=3600).contains(&self.expiry_sweep_seconds) {
            problems.push("expiry_sweep_seconds must be between 1 and 3600".to_owned());
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            problems.push("set both tls_cert_file and tls_key_file, or neither".to_owned());
        }
        if !(60..=3600).contains(&self.access_token_ttl_seconds) {
            problems.push("access_token_ttl_seconds must be between 60 and 3600".to_owned());
        }
        if production && self.encryption_keys.is_empty() {
            problems.push(
                "encryption_keys: production needs an encryption key of its own (openssl rand -hex 32)"
                    .to_owned(),
            );
        }
        if production && self.encryption_lookup_key.is_none() {
            problems.push(
                "encryption_lookup_key: production needs one (openssl rand -hex 32)".to_owned(),
            );
        }
        if production && self.jwt_keys.is_empty() {
            problems.push(
                "jwt_keys: production needs signing keys of its own; the built-in development key is public"
                    .to_owned(),
            );
        }
        match self.payment_gateway {
            None if production => problems.push(
                "payment_gateway: production must name its gateway, stripe (the sandbox takes no real money)"
                    .to_owned(),
            ),
            Some(GatewayKind::Sandbox) if production => problems.push(
                "payment_gateway: production refuses the sandbox gateway (the sandbox takes no real money); use stripe"
                    .to_owned(),
            ),
            _ => {}
        }
        if self.gateway() == GatewayKind::Stripe {
            match self.stripe_secret_key.as_ref().map(|key| key.expose_secret().trim()) {
                None | Some("") => problems.push(
                    "stripe_secret_key: the Stripe gateway needs the account's secret key (sk_live_… or sk_test_…)"
                        .to_owned(),
                ),
                Some(key) if !(key.starts_with("sk_") || key.starts_with("rk_")) => problems.push(
                    "stripe_secret_key: not a Stripe secret key (it starts with sk_ or rk_; the publishable pk_ key belongs in the checkout page)"
                        .to_owned(),
                ),
                Some(_) => {}
            }
        }
        match Url::parse(&self.stripe_api_base) {
            Ok(url) if production && url.scheme() != "https" => {
                problems.push("stripe_api_base must use https in production".to_owned())
            }
            Ok(url) if !matches!(url.scheme(), "http" | "https") || !url.has_host() => {
                problems.push("stripe_api_base must be an http(s) URL".to_owned())
            }
            Ok(_) => {}
            Err(err) => problems.push(format!("stripe_api_base is not a URL: {err}")),
        }
        if !(1..=60).contains(&self.gateway_timeout_seconds) {
            problems.push("gateway_timeout_seconds must be between 1 and 60".to_owned());
        }
        if self.sandbox_latency_ms > 60_000 {
            problems.push("sandbox_latency_ms must be at most 60000".to_owned());
        }
        if !(1..=3600).contains(&self.payment_reconcile_after_seconds) {
            problems.push("payment_reconcile_after_seconds must be between 1 and 3600".to_owned());
        }
        if !(1..=30).contains(&self.capture_window_days) {
            problems.push("capture_window_days must be between 1 and 30".to_owned());
        }
        if !(1..=300).contains(&self.websocket_keepalive_seconds) {
            problems.push("websocket_keepalive_seconds must be between 1 and 300".to_owned());
        }
        if let Some(url) = &self.redis_url
            && !url.starts_with("redis://")
        {
            problems.push("redis_url must be a redis:// URL".to_owned());
        }
        if self.redis_channel.trim().is_empty() {
            problems.push("redis_channel must not be empty".to_owned());
        }
        if !(1..=72).contains(&self.webhook_retry_hours) {
            problems.push("webhook_retry_hours must be between 1 and 72".to_owned());
        }
        if !(1..=30).contains(&self.webhook_timeout_seconds) {
            problems.push("webhook_timeout_seconds must be between 1 and 30".to_owned());
        }
        if production && !(self.webhooks_https_only && self.webhooks_public_addresses_only) {
            problems.push(
                "webhooks_https_only and webhooks_public_addresses_only cannot be turned off in production"
                    .to_owned(),
            );
        }
        if production && self.seed_demo {
            problems.push(
                "seed_demo is a development default: production refuses demo data and the built-in demo API key"
                    .to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_for_development() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn production_refuses_development_defaults() {
        let config = Config {
            app_env: AppEnv::Production,
            ..Config::default()
        };
        let Err(ConfigError::Invalid(problems)) = config.validate() else {
            panic!("production with demo data must be refused");
        };
        assert!(problems.iter().any(|p| p.contains("seed_demo")));
        assert!(problems.iter().any(|p| p.contains("https")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("webhooks_public_addresses_only"))
        );
        assert!(problems.iter().any(|p| p.contains("payment_gateway")));
    }

    #[test]
    fn production_refuses_the_sandbox_and_stripe_needs_its_key() {
        let sandbox = Config {
            app_env: AppEnv::Production,
            payment_gateway: Some(GatewayKind::Sandbox),
            ..Config::default()
        };
        let Err(ConfigError::Invalid(problems)) = sandbox.validate() else {
            panic!("production on the sandbox must be refused");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.contains("refuses the sandbox gateway")),
            "{problems:?}"
        );

        let keyless = Config {
            payment_gateway: Some(GatewayKind::Stripe),
            ..Config::default()
        };
        let Err(ConfigError::Invalid(problems)) = keyless.validate() else {
            panic!("stripe without a key must be refused");
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("stripe_secret_key"));

        let publishable = Config {
            stripe_secret_key: Some("pk_test_abc".into()),
            ..keyless.clone()
        };
        assert!(publishable.validate().is_err());
        let stripe = Config {
            stripe_secret_key: Some("sk_test_abc".into()),
            ..keyless
        };
        stripe.validate().unwrap();

        let plain_http = Config {
            app_env: AppEnv::Production,
            stripe_api_base: "http://api.stripe.com".into(),
            gateway_timeout_seconds: 0,
            ..stripe
        };
        let Err(ConfigError::Invalid(problems)) = plain_http.validate() else {
            panic!("production needs https to Stripe");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.contains("stripe_api_base must use https"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("gateway_timeout_seconds"))
        );
        assert!(!problems.iter().any(|p| p.contains("payment_gateway")));
    }

    #[test]
    fn the_stripe_key_never_prints() {
        let config = Config {
            payment_gateway: Some(GatewayKind::Stripe),
            stripe_secret_key: Some("sk_test_do_not_print".into()),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("do_not_print"));
        let serialized = serde_json::to_string(&config).unwrap();
        assert!(!serialized.contains("do_not_print"));
    }

    #[test]
    fn the_maximum_checkout_total_is_bounded() {
        let config = Config::default();
        assert_eq!(config.max_checkout_total, 1_000_000);
        assert_eq!(
            config
                .max_checkout_total()
                .in_currency(crate::domain::Currency::Eur)
                .minor(),
            100_000_000
        );
        for (value, valid) in [
            (0, false),
            (-5, false),
            (1, true),
            (2_500, true),
            (1_000_000_000, true),
            (1_000_000_001, false),
        ] {
            let config = Config {
                max_checkout_total: value,
                ..Config::default()
            };
            match config.validate() {
                Ok(()) => {
                    assert!(valid, "{value} must be refused");
                    assert_eq!(config.max_checkout_total().hundredths(), value * 100);
                }
                Err(ConfigError::Invalid(problems)) => {
                    assert!(!valid, "{value} must be accepted: {problems:?}");
                    assert_eq!(problems.len(), 1, "{problems:?}");
                    assert!(problems[0].starts_with("max_checkout_total must be"));
                }
                Err(other) => panic!("{other}"),
            }
        }
    }

    #[test]
    fn reports_every_problem() {
        let config = Config {
            database_url: "postgres://x".into(),
            checkout_ttl_minutes: 1,
            body_limit_bytes: 10,
            cors_allowed_origins: vec![
                "https://ok.example".into(),
                "https://shop.example/path".into(),
            ],
            expiry_sweep_seconds: 0,
            ..Config::default()
        };
        let Err(ConfigError::Invalid(problems)) = config.validate() else {
            panic!("invalid settings must be refused");
        };
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("shop.example/path")));
    }
}
