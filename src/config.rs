//! Typed configuration, read from defaults, an optional TOML file and the environment,
//! and validated once at start so a bad setting stops the server with a clear message.
//!
//! Settings are grouped in sections, one struct each: [`ServerConfig`], [`DatabaseConfig`],
//! [`AuthConfig`], [`EncryptionConfig`], [`LimitsConfig`], [`GatewayConfig`],
//! [`WebhooksConfig`], [`JobsConfig`] and [`RedisConfig`]; only `app_env` stands alone.
//!
//! Sources, later ones winning: built-in defaults; the TOML file named by
//! `PAYLATER_CONFIG`, in sections (`[database]`, `max_connections = 16`); and the
//! environment, whose flat variable names (`PAYLATER_DATABASE_MAX_CONNECTIONS`, the
//! conventional `DATABASE_URL` and `APP_ENV`) [`ENV_KEYS`] maps to section keys.
//!
//! Secrets (the database and Redis URLs, encryption keys, the Stripe key) are
//! [`SecretString`]s: their `Debug` is redacted and they are never serialized, so a printed
//! or serialized configuration shows none of them. Each is exposed only where it is used.

use std::{fmt, net::SocketAddr, num::NonZeroU32, path::PathBuf};

use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Env, Format, Serialized, Toml},
    value::{Dict, Map, Uncased, UncasedStr},
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// A developer's machine: demo data and the built-in demo API key are allowed.
    #[default]
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
    /// with `gateway.stripe_secret_key`.
    Stripe,
}

/// Where the Stripe API lives unless `gateway.stripe_api_base` says otherwise.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

/// The default database: a SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://paylater.db?mode=rwc";

/// The longest retention of published events and finished deliveries, in days (ten years).
const MAX_RETENTION_DAYS: u32 = 3650;

/// The environment variable naming the TOML file; it is not a setting itself.
const CONFIG_FILE_VAR: &str = "PAYLATER_CONFIG";

/// The prefix of paylater's own environment variables.
const ENV_PREFIX: &str = "PAYLATER_";

/// Variables with the prefix that are not settings: the configuration file's path, and
/// the test suite's switch that makes a missing browser a failure (CI exports it for every
/// process the tests start).
const NOT_SETTINGS: [&str; 2] = [CONFIG_FILE_VAR, "PAYLATER_BROWSER_TESTS"];

/// Each environment variable and the configuration key it sets. Where two name one key,
/// the first is the documented one, and wins when both are set.
#[rustfmt::skip]
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("APP_ENV",                                        "app_env"),
    ("PAYLATER_APP_ENV",                               "app_env"),
    ("PAYLATER_LISTEN",                                "server.listen"),
    ("PAYLATER_METRICS_LISTEN",                        "server.metrics_listen"),
    ("PAYLATER_TLS_CERT_FILE",                         "server.tls_cert_file"),
    ("PAYLATER_TLS_KEY_FILE",                          "server.tls_key_file"),
    ("PAYLATER_BODY_LIMIT_BYTES",                      "server.body_limit_bytes"),
    ("PAYLATER_CORS_ALLOWED_ORIGINS",                  "server.cors_allowed_origins"),
    ("PAYLATER_GRAPHQL_INTROSPECTION",                 "server.graphql_introspection"),
    ("PAYLATER_WEBSOCKET_KEEPALIVE_SECONDS",           "server.websocket_keepalive_seconds"),
    ("PAYLATER_CHECKOUT_APP_URL",                      "server.checkout_app_url"),
    ("PAYLATER_LOG_FORMAT",                            "server.log_format"),
    ("DATABASE_URL",                                   "database.url"),
    ("PAYLATER_DATABASE_URL",                          "database.url"),
    ("PAYLATER_DATABASE_MAX_CONNECTIONS",              "database.max_connections"),
    ("PAYLATER_RUN_MIGRATIONS",                        "database.run_migrations"),
    ("PAYLATER_SEED_DEMO",                             "database.seed_demo"),
    ("PAYLATER_JWT_KEYS",                              "auth.jwt_keys"),
    ("PAYLATER_ACCESS_TOKEN_TTL_SECONDS",              "auth.access_token_ttl_seconds"),
    ("PAYLATER_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", "auth.login_attempts_per_account_per_minute"),
    ("PAYLATER_LOGIN_ATTEMPTS_PER_IP_PER_MINUTE",      "auth.login_attempts_per_ip_per_minute"),
    ("PAYLATER_ENCRYPTION_KEYS",                       "encryption.keys"),
    ("PAYLATER_ENCRYPTION_LOOKUP_KEY",                 "encryption.lookup_key"),
    ("PAYLATER_RATE_LIMIT_PER_SECOND",                 "limits.rate_limit_per_second"),
    ("PAYLATER_RATE_LIMIT_BURST",                      "limits.rate_limit_burst"),
    ("PAYLATER_RATE_LIMIT_IP_PER_SECOND",              "limits.rate_limit_ip_per_second"),
    ("PAYLATER_RATE_LIMIT_IP_BURST",                   "limits.rate_limit_ip_burst"),
    ("PAYLATER_MAX_CHECKOUT_TOTAL",                    "limits.max_checkout_total"),
    ("PAYLATER_CHECKOUT_TTL_MINUTES",                  "limits.checkout_ttl_minutes"),
    ("PAYLATER_PAYMENT_GATEWAY",                       "gateway.kind"),
    ("PAYLATER_SANDBOX_LATENCY_MS",                    "gateway.sandbox_latency_ms"),
    ("PAYLATER_STRIPE_SECRET_KEY",                     "gateway.stripe_secret_key"),
    ("PAYLATER_STRIPE_API_BASE",                       "gateway.stripe_api_base"),
    ("PAYLATER_GATEWAY_TIMEOUT_SECONDS",               "gateway.timeout_seconds"),
    ("PAYLATER_CAPTURE_WINDOW_DAYS",                   "gateway.capture_window_days"),
    ("PAYLATER_PAYMENT_RECONCILE_AFTER_SECONDS",       "gateway.reconcile_after_seconds"),
    ("PAYLATER_WEBHOOK_RETRY_HOURS",                   "webhooks.retry_hours"),
    ("PAYLATER_WEBHOOK_TIMEOUT_SECONDS",               "webhooks.timeout_seconds"),
    ("PAYLATER_WEBHOOKS_HTTPS_ONLY",                   "webhooks.https_only"),
    ("PAYLATER_WEBHOOKS_PUBLIC_ADDRESSES_ONLY",        "webhooks.public_addresses_only"),
    ("PAYLATER_WEBHOOK_RETENTION_DAYS",                "webhooks.retention_days"),
    ("PAYLATER_EXPIRY_SWEEP_SECONDS",                  "jobs.expiry_sweep_seconds"),
    ("PAYLATER_OUTBOX_RETENTION_DAYS",                 "jobs.outbox_retention_days"),
    ("PAYLATER_REDIS_URL",                             "redis.url"),
    ("PAYLATER_REDIS_CHANNEL",                         "redis.channel"),
];

/// Every setting of the server, in sections.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `development` (default) or `production`.
    pub app_env: AppEnv,
    /// The HTTP server: where it listens and what it serves.
    pub server: ServerConfig,
    /// The database, and what is done to it at start.
    pub database: DatabaseConfig,
    /// Who may call: access token keys and lifetime, login throttling.
    pub auth: AuthConfig,
    /// The keys of the columns encrypted at rest.
    pub encryption: EncryptionConfig,
    /// How much callers may ask for: query cost rates, checkout totals and lifetimes.
    pub limits: LimitsConfig,
    /// The payment gateway, and how payments it leaves open are settled.
    pub gateway: GatewayConfig,
    /// Delivery of webhooks to merchants' endpoints.
    pub webhooks: WebhooksConfig,
    /// The background jobs.
    pub jobs: JobsConfig,
    /// Redis, which carries events between instances.
    pub redis: RedisConfig,
}

/// The HTTP server: where it listens and what it serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Address Prometheus metrics (`GET /metrics`) are served on: loopback by default,
    /// so that only what runs beside paylater (an agent, a sidecar) can read them.
    pub metrics_listen: SocketAddr,
    /// PEM certificate chain; with `tls_key_file`, the server speaks HTTPS itself.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key_file: Option<PathBuf>,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Origins whose browser pages may call the API (CORS); empty allows none.
    pub cors_allowed_origins: Vec<String>,
    /// Serve schema introspection and field suggestions (default: development only).
    pub graphql_introspection: bool,
    /// How often a WebSocket connection is pinged to keep it alive, in seconds.
    pub websocket_keepalive_seconds: u64,
    /// Where an external checkout web app lives; a checkout's URL is this plus `/<token>`.
    /// Unset: paylater's own checkout page, `/checkout` at the address it serves (see
    /// [`ServerConfig::checkout_page_url`]).
    pub checkout_app_url: Option<String>,
    /// Log line format.
    pub log_format: LogFormat,
}

/// The database, and what is done to it at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `mysql://…`. Secret, as it may carry a password: never serialized,
    /// so when no source sets it, it is the default.
    #[serde(skip_serializing, default = "DatabaseConfig::default_url")]
    pub url: SecretString,
    /// Upper bound of pooled database connections.
    pub max_connections: u32,
    /// Apply pending migrations when the server starts.
    pub run_migrations: bool,
    /// Create the demo merchant, API key and consumer at start (development only).
    pub seed_demo: bool,
}

/// Who may call: access token keys and lifetime, login throttling.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Keys that sign (the first with a private key) and verify access tokens; empty in
    /// development means the built-in development key, which production refuses.
    pub jwt_keys: Vec<JwtKeyConfig>,
    /// How long an access token lives, in seconds.
    pub access_token_ttl_seconds: i64,
    /// Login attempts allowed per account per minute.
    pub login_attempts_per_account_per_minute: NonZeroU32,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_ip_per_minute: NonZeroU32,
}

/// The keys of the columns encrypted at rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Keys encrypting sensitive columns (the first encrypts, all decrypt); empty in
    /// development means the built-in development key, which production refuses.
    pub keys: Vec<EncryptionKeyConfig>,
    /// Key of the hashes that find rows by email (64 hex digits); keep it when rotating
    /// `keys`. Required in production. Secret: never serialized.
    #[serde(skip_serializing, default)]
    pub lookup_key: Option<SecretString>,
}

/// How much callers may ask for: query cost rates, checkout totals and lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Query cost units (complexity) a merchant or consumer regains per second.
    pub rate_limit_per_second: NonZeroU32,
    /// Most query cost units a merchant or consumer can spend at once.
    pub rate_limit_burst: NonZeroU32,
    /// Query cost units a client address regains per second.
    pub rate_limit_ip_per_second: NonZeroU32,
    /// Most query cost units a client address can spend at once.
    pub rate_limit_ip_burst: NonZeroU32,
    /// The largest total a checkout may have, in whole major units of the checkout's own
    /// currency (1000000: 1 000 000.00 EUR, 1 000 000 ISK). A merchant's own maximum can
    /// only lower it.
    pub max_checkout_total: i64,
    /// How long a checkout stays open when the merchant gives no expiry, in minutes.
    pub checkout_ttl_minutes: i64,
}

/// The payment gateway, and how payments it leaves open are settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// The payment gateway; development defaults to the sandbox, production must name one.
    pub kind: Option<GatewayKind>,
    /// Latency the sandbox gateway adds to every call, in milliseconds, to behave like a
    /// card network (0: it answers at once).
    pub sandbox_latency_ms: u64,
    /// The Stripe account's secret key (`sk_live_…`, `sk_test_…` or a restricted `rk_…`),
    /// required with the Stripe gateway. Secret: never serialized.
    #[serde(skip_serializing, default)]
    pub stripe_secret_key: Option<SecretString>,
    /// Base URL of the Stripe API; production requires https.
    pub stripe_api_base: String,
    /// How long one request to the payment gateway may take, connection included, in
    /// seconds; past it the call has no answer and is settled later under the same key.
    pub timeout_seconds: u64,
    /// Days a merchant has to capture an order before it is voided automatically.
    pub capture_window_days: u32,
    /// Seconds after which a payment the gateway did not answer (or a request that died
    /// before asking for one) is taken over by the reconciler.
    pub reconcile_after_seconds: u32,
}

/// Delivery of webhooks to merchants' endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// How long a failing webhook delivery is retried, and an endpoint may fail before it
    /// is disabled, in hours.
    pub retry_hours: u32,
    /// How long one webhook request may take, connection included, in seconds.
    pub timeout_seconds: u64,
    /// Webhook URLs must use https (production: always).
    pub https_only: bool,
    /// Webhook URLs must reach public addresses, not private, loopback or link-local ones
    /// (production: always).
    pub public_addresses_only: bool,
    /// How long a finished delivery (delivered, or given up) stays in the log, with its
    /// attempts, in days after its last change.
    pub retention_days: u32,
}

/// The background jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// How often the background jobs run, in seconds: open checkouts past their expiry
    /// are marked expired, pending payments reconciled, orders voided, instalments charged,
    /// and rows past their retention deleted.
    pub expiry_sweep_seconds: u64,
    /// How long an outbox event is kept once published, in days (unpublished events are
    /// always kept).
    pub outbox_retention_days: u32,
}

/// Redis, which carries events between instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// Redis for fanning events out to the subscriptions of every instance (`redis://…`);
    /// without it each instance's subscriptions hear only the events it relays. Secret,
    /// as it may carry a password: never serialized.
    #[serde(skip_serializing, default)]
    pub url: Option<SecretString>,
    /// The Redis pub/sub channel of events; instances sharing it share their events.
    pub channel: String,
}

/// `n`, or 1 for 0, in a constant.
const fn at_least_one(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            tls_cert_file: None,
            tls_key_file: None,
            body_limit_bytes: 256 * 1024,
            cors_allowed_origins: Vec::new(),
            graphql_introspection: true,
            websocket_keepalive_seconds: 15,
            checkout_app_url: None,
            log_format: LogFormat::Text,
        }
    }
}

impl DatabaseConfig {
    /// The default database URL, [`DEFAULT_DATABASE_URL`].
    fn default_url() -> SecretString {
        DEFAULT_DATABASE_URL.into()
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Self::default_url(),
            max_connections: 8,
            run_migrations: true,
            seed_demo: true,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_keys: Vec::new(),
            access_token_ttl_seconds: 900,
            login_attempts_per_account_per_minute: at_least_one(5),
            login_attempts_per_ip_per_minute: at_least_one(30),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            rate_limit_per_second: at_least_one(1_000),
            rate_limit_burst: at_least_one(40_000),
            rate_limit_ip_per_second: at_least_one(2_000),
            rate_limit_ip_burst: at_least_one(80_000),
            max_checkout_total: DEFAULT_MAX_TOTAL_MAJOR,
            checkout_ttl_minutes: 60,
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            kind: None,
            sandbox_latency_ms: 0,
            stripe_secret_key: None,
            stripe_api_base: DEFAULT_STRIPE_API_BASE.to_owned(),
            timeout_seconds: 10,
            capture_window_days: 7,
            reconcile_after_seconds: 60,
        }
    }
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            retry_hours: 24,
            timeout_seconds: 10,
            https_only: false,
            public_addresses_only: false,
            retention_days: 30,
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            expiry_sweep_seconds: 15,
            outbox_retention_days: 7,
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            channel: "paylater:events".to_owned(),
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

/// The environment as a configuration source: each variable of [`ENV_KEYS`] sets its key,
/// and a bad value is reported under the variable's name.
struct Environment;

impl Environment {
    /// The key the variable `name` sets, unless a variable listed before it for the same
    /// key is set too. Another `PAYLATER_` variable keeps its own name, so that a misspelt
    /// one is refused as an unknown setting rather than ignored.
    fn key(name: &UncasedStr) -> Option<Uncased<'static>> {
        let listed = ENV_KEYS
            .iter()
            .position(|(variable, _)| name.as_str().eq_ignore_ascii_case(variable));
        match listed {
            Some(at) => {
                let (_, key) = ENV_KEYS[at];
                let overridden = ENV_KEYS[..at].iter().any(|(earlier, earlier_key)| {
                    *earlier_key == key && std::env::var_os(earlier).is_some()
                });
                (!overridden).then(|| Uncased::from_borrowed(key))
            }
            None if name.starts_with(ENV_PREFIX)
                && !NOT_SETTINGS
                    .iter()
                    .any(|variable| name.as_str().eq_ignore_ascii_case(variable)) =>
            {
                Some(Uncased::from_owned(name.as_str().to_owned()))
            }
            None => None,
        }
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_, path| {
            let key = path.join(".");
            ENV_KEYS
                .iter()
                .find(|(_, known)| *known == key)
                .map_or(key, |(variable, _)| (*variable).to_owned())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Env::raw().filter_map(|name| Self::key(name)).data()
    }
}

impl Config {
    /// Reads every source and validates the result.
    pub fn load() -> Result<Self, ConfigError> {
        let mut sources = Figment::new();
        if let Ok(path) = std::env::var(CONFIG_FILE_VAR) {
            sources = sources.merge(Toml::file_exact(path));
        }
        Self::from_sources(sources.merge(Environment))
    }

    /// The defaults overridden by what the operator set in `sources`, with production's
    /// stricter defaults for what they left alone, validated.
    fn from_sources(sources: Figment) -> Result<Self, ConfigError> {
        let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(sources.clone())
            .extract()
            .map_err(Box::new)?;
        // Development conveniences default to off in production unless set explicitly.
        if config.app_env == AppEnv::Production {
            let explicit = |key: &str| sources.contains(key);
            if !explicit("database.seed_demo") {
                config.database.seed_demo = false;
            }
            if !explicit("server.graphql_introspection") {
                config.server.graphql_introspection = false;
            }
            config.webhooks.https_only |= !explicit("webhooks.https_only");
            config.webhooks.public_addresses_only |= !explicit("webhooks.public_addresses_only");
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let production = self.app_env == AppEnv::Production;
        let mut problems = Vec::new();
        self.database.check(production, &mut problems);
        self.server.check(production, &mut problems);
        self.limits.check(&mut problems);
        self.jobs.check(&mut problems);
        self.auth.check(production, &mut problems);
        self.encryption.check(production, &mut problems);
        self.gateway.check(production, &mut problems);
        self.redis.check(&mut problems);
        self.webhooks.check(production, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

impl ServerConfig {
    /// The certificate and key files when HTTPS is configured.
    pub fn tls(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.tls_cert_file.as_ref().zip(self.tls_key_file.as_ref())
    }

    /// Where shoppers open checkouts (a checkout's URL is this plus `/<token>`): the
    /// configured checkout app, or else paylater's own page at `/checkout` under the
    /// address it listens on (https when it speaks TLS; `localhost` for an unspecified
    /// address such as `0.0.0.0`).
    pub fn checkout_page_url(&self) -> String {
        if let Some(url) = &self.checkout_app_url {
            return url.clone();
        }
        let scheme = if self.tls().is_some() {
            "https"
        } else {
            "http"
        };
        let address = if self.listen.ip().is_unspecified() {
            format!("localhost:{}", self.listen.port())
        } else {
            self.listen.to_string()
        };
        format!("{scheme}://{address}/checkout")
    }

    fn check(&self, production: bool, problems: &mut Vec<String>) {
        match &self.checkout_app_url {
            Some(configured) => match Url::parse(configured) {
                Ok(url) if production && url.scheme() != "https" => problems
                    .push("server.checkout_app_url must use https in production".to_owned()),
                Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                    problems.push("server.checkout_app_url must be an http(s) URL".to_owned())
                }
                Ok(_) => {}
                Err(err) => problems.push(format!("server.checkout_app_url is not a URL: {err}")),
            },
            None if production && self.tls().is_none() => problems.push(format!(
                "server.checkout_app_url must use https in production: set it to the public https address of the checkout page, or configure TLS so the built-in page ({}) is served over https",
                self.checkout_page_url()
            )),
            None if production && self.listen.ip().is_unspecified() => problems.push(
                "server.checkout_app_url must be set in production when server.listen is an unspecified address: shoppers need the checkout page's public https address (paylater serves it at /checkout)"
                    .to_owned(),
            ),
            None => {}
        }
        if self.body_limit_bytes < 1024 {
            problems.push("server.body_limit_bytes must be at least 1024".to_owned());
        }
        for origin in &self.cors_allowed_origins {
            match Url::parse(origin) {
                Ok(url) if url.origin().ascii_serialization() == origin.trim_end_matches('/') => {}
                _ => problems.push(format!(
                    "server.cors_allowed_origins: {origin:?} is not an origin like https://shop.example"
                )),
            }
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            problems.push(
                "set both server.tls_cert_file and server.tls_key_file, or neither".to_owned(),
            );
        }
        if !(1..=300).contains(&self.websocket_keepalive_seconds) {
            problems
                .push("server.websocket_keepalive_seconds must be between 1 and 300".to_owned());
        }
    }
}

impl DatabaseConfig {
    fn check(&self, production: bool, problems: &mut Vec<String>) {
        let url = self.url.expose_secret();
        if !(url.starts_with("sqlite:") || url.starts_with("mysql:")) {
            problems.push("DATABASE_URL must start with sqlite: or mysql:".to_owned());
        }
        if self.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".to_owned());
        }
        if production && self.seed_demo {
            problems.push(
                "database.seed_demo is a development default: production refuses demo data and the built-in demo API key"
                    .to_owned(),
            );
        }
    }
}

impl LimitsConfig {
    /// The platform's maximum checkout total (`max_checkout_total`, validated to fit).
    pub fn max_checkout_total(&self) -> MaxTotal {
        MaxTotal::from_major(self.max_checkout_total).unwrap_or_default()
    }

    fn check(&self, problems: &mut Vec<String>) {
        if !(5..=2880).contains(&self.checkout_ttl_minutes) {
            problems.push("limits.checkout_ttl_minutes must be between 5 and 2880".to_owned());
        }
        if !(1..=LARGEST_MAX_TOTAL_MAJOR).contains(&self.max_checkout_total) {
            problems.push(format!(
                "limits.max_checkout_total must be a whole number of major units between 1 and {LARGEST_MAX_TOTAL_MAJOR}"
            ));
        }
    }
}

impl JobsConfig {
    fn check(&self, problems: &mut Vec<String>) {
        if !(1..=3600).contains(&self.expiry_sweep_seconds) {
            problems.push("jobs.expiry_sweep_seconds must be between 1 and 3600".to_owned());
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&self.outbox_retention_days) {
            problems.push(format!(
                "jobs.outbox_retention_days must be between 1 and {MAX_RETENTION_DAYS}"
            ));
        }
    }
}

impl AuthConfig {
    fn check(&self, production: bool, problems: &mut Vec<String>) {
        if !(60..=3600).contains(&self.access_token_ttl_seconds) {
            problems.push("auth.access_token_ttl_seconds must be between 60 and 3600".to_owned());
        }
        if production && self.jwt_keys.is_empty() {
            problems.push(
                "auth.jwt_keys: production needs signing keys of its own; the built-in development key is public"
                    .to_owned(),
            );
        }
    }
}

impl EncryptionConfig {
    fn check(&self, production: bool, problems: &mut Vec<String>) {
        if production && self.keys.is_empty() {
            problems.push(
                "encryption.keys: production needs an encryption key of its own (openssl rand -hex 32)"
                    .to_owned(),
            );
        }
        if production && self.lookup_key.is_none() {
            problems.push(
                "encryption.lookup_key: production needs one (openssl rand -hex 32)".to_owned(),
            );
        }
    }
}

impl GatewayConfig {
    /// The payment gateway in use: the configured one, or the sandbox in development.
    pub fn in_use(&self) -> GatewayKind {
        self.kind.unwrap_or(GatewayKind::Sandbox)
    }

    fn check(&self, production: bool, problems: &mut Vec<String>) {
        match self.kind {
            None if production => problems.push(
                "gateway.kind: production must name its gateway, stripe (the sandbox takes no real money)"
                    .to_owned(),
            ),
            Some(GatewayKind::Sandbox) if production => problems.push(
                "gateway.kind: production refuses the sandbox gateway (the sandbox takes no real money); use stripe"
                    .to_owned(),
            ),
            _ => {}
        }
        if self.in_use() == GatewayKind::Stripe {
            match self.stripe_secret_key.as_ref().map(|key| key.expose_secret().trim()) {
                None | Some("") => problems.push(
                    "gateway.stripe_secret_key: the Stripe gateway needs the account's secret key (sk_live_… or sk_test_…)"
                        .to_owned(),
                ),
                Some(key) if !(key.starts_with("sk_") || key.starts_with("rk_")) => problems.push(
                    "gateway.stripe_secret_key: not a Stripe secret key (it starts with sk_ or rk_; the publishable pk_ key belongs in the checkout page)"
                        .to_owned(),
                ),
                Some(_) => {}
            }
        }
        match Url::parse(&self.stripe_api_base) {
            Ok(url) if production && url.scheme() != "https" => {
                problems.push("gateway.stripe_api_base must use https in production".to_owned())
            }
            Ok(url) if !matches!(url.scheme(), "http" | "https") || !url.has_host() => {
                problems.push("gateway.stripe_api_base must be an http(s) URL".to_owned())
            }
            Ok(_) => {}
            Err(err) => problems.push(format!("gateway.stripe_api_base is not a URL: {err}")),
        }
        if !(1..=60).contains(&self.timeout_seconds) {
            problems.push("gateway.timeout_seconds must be between 1 and 60".to_owned());
        }
        if self.sandbox_latency_ms > 60_000 {
            problems.push("gateway.sandbox_latency_ms must be at most 60000".to_owned());
        }
        if !(1..=3600).contains(&self.reconcile_after_seconds) {
            problems.push("gateway.reconcile_after_seconds must be between 1 and 3600".to_owned());
        }
        if !(1..=30).contains(&self.capture_window_days) {
            problems.push("gateway.capture_window_days must be between 1 and 30".to_owned());
        }
    }
}

impl RedisConfig {
    fn check(&self, problems: &mut Vec<String>) {
        if let Some(url) = &self.url
            && !url.expose_secret().starts_with("redis://")
        {
            problems.push("redis.url must be a redis:// URL".to_owned());
        }
        if self.channel.trim().is_empty() {
            problems.push("redis.channel must not be empty".to_owned());
        }
    }
}

impl WebhooksConfig {
    fn check(&self, production: bool, problems: &mut Vec<String>) {
        if !(1..=72).contains(&self.retry_hours) {
            problems.push("webhooks.retry_hours must be between 1 and 72".to_owned());
        }
        if !(1..=30).contains(&self.timeout_seconds) {
            problems.push("webhooks.timeout_seconds must be between 1 and 30".to_owned());
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&self.retention_days) {
            problems.push(format!(
                "webhooks.retention_days must be between 1 and {MAX_RETENTION_DAYS}"
            ));
        }
        if production && !(self.https_only && self.public_addresses_only) {
            problems.push(
                "webhooks.https_only and webhooks.public_addresses_only cannot be turned off in production"
                    .to_owned(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use figment::error::Kind;

    use super::*;

    fn production() -> Config {
        Config {
            app_env: AppEnv::Production,
            ..Config::default()
        }
    }

    fn problems(config: &Config) -> Vec<String> {
        match config.validate() {
            Err(ConfigError::Invalid(problems)) => problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid_for_development() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn without_a_checkout_app_the_checkout_page_is_the_servers_own() {
        let mut server = ServerConfig::default();
        assert_eq!(server.checkout_page_url(), "http://127.0.0.1:8080/checkout");
        server.listen = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(server.checkout_page_url(), "http://localhost:9000/checkout");
        server.listen = "[::1]:8443".parse().unwrap();
        server.tls_cert_file = Some("cert.pem".into());
        server.tls_key_file = Some("key.pem".into());
        assert_eq!(server.checkout_page_url(), "https://[::1]:8443/checkout");
        server.checkout_app_url = Some("https://pay.example/c".into());
        assert_eq!(server.checkout_page_url(), "https://pay.example/c");
    }

    #[test]
    fn production_serves_its_own_checkout_page_over_https_only() {
        let mut config = load(&[PRODUCTION]).unwrap();
        config.server.checkout_app_url = None;
        let refused = problems(&config);
        assert!(
            refused.iter().any(|p| p.contains(
                "checkout_app_url must use https in production: set it to the public https address"
            ) && p.contains("http://127.0.0.1:8080/checkout")),
            "{refused:?}"
        );
        config.server.tls_cert_file = Some("cert.pem".into());
        config.server.tls_key_file = Some("key.pem".into());
        config.validate().unwrap();
        config.server.listen = "0.0.0.0:8443".parse().unwrap();
        let refused = problems(&config);
        assert!(
            refused
                .iter()
                .any(|p| p.contains("server.listen is an unspecified address")),
            "{refused:?}"
        );
    }

    #[test]
    fn production_refuses_development_defaults() {
        let problems = problems(&production());
        assert!(problems.iter().any(|p| p.contains("seed_demo")));
        assert!(problems.iter().any(|p| p.contains("https")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("webhooks.public_addresses_only"))
        );
        assert!(problems.iter().any(|p| p.contains("gateway.kind")));
    }

    #[test]
    fn production_refuses_the_sandbox_and_stripe_needs_its_key() {
        let mut sandbox = production();
        sandbox.gateway.kind = Some(GatewayKind::Sandbox);
        let problems_of_sandbox = problems(&sandbox);
        assert!(
            problems_of_sandbox
                .iter()
                .any(|p| p.contains("refuses the sandbox gateway")),
            "{problems_of_sandbox:?}"
        );

        let mut keyless = Config::default();
        keyless.gateway.kind = Some(GatewayKind::Stripe);
        let problems_of_keyless = problems(&keyless);
        assert_eq!(problems_of_keyless.len(), 1, "{problems_of_keyless:?}");
        assert!(problems_of_keyless[0].starts_with("gateway.stripe_secret_key"));

        let mut publishable = keyless.clone();
        publishable.gateway.stripe_secret_key = Some("pk_test_abc".into());
        assert!(publishable.validate().is_err());
        let mut stripe = keyless;
        stripe.gateway.stripe_secret_key = Some("sk_test_abc".into());
        stripe.validate().unwrap();

        let mut plain_http = stripe;
        plain_http.app_env = AppEnv::Production;
        plain_http.gateway.stripe_api_base = "http://api.stripe.com".into();
        plain_http.gateway.timeout_seconds = 0;
        let problems = problems(&plain_http);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("stripe_api_base must use https"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("gateway.timeout_seconds"))
        );
        assert!(!problems.iter().any(|p| p.contains("gateway.kind")));
    }

    #[test]
    fn the_stripe_key_never_prints() {
        let mut config = Config::default();
        config.gateway.kind = Some(GatewayKind::Stripe);
        config.gateway.stripe_secret_key = Some("sk_test_do_not_print".into());
        assert!(!format!("{config:?}").contains("do_not_print"));
        let serialized = serde_json::to_string(&config).unwrap();
        assert!(!serialized.contains("do_not_print"));
    }

    #[test]
    fn no_secret_prints_or_serializes() {
        let database = "mysql://paylater:database-password@db.internal:3306/paylater";
        let redis = "redis://:redis-password@cache.internal:6379";
        let key_hex = "0123456789abcdef".repeat(4);
        let lookup_key = "fedcba9876543210".repeat(4);
        let stripe = "sk_live_stripe-secret";
        let mut config = Config::default();
        config.database.url = database.into();
        config.redis.url = Some(redis.into());
        config.encryption.keys = vec![EncryptionKeyConfig {
            id: "2027-01".into(),
            key_hex: key_hex.as_str().into(),
        }];
        config.encryption.lookup_key = Some(lookup_key.as_str().into());
        config.gateway.kind = Some(GatewayKind::Stripe);
        config.gateway.stripe_secret_key = Some(stripe.into());
        config.validate().unwrap();

        let printed = format!("{config:?}\n{config:#?}");
        let serialized = serde_json::to_string(&config).unwrap();
        for secret in [
            database,
            "database-password",
            redis,
            "redis-password",
            &key_hex,
            &lookup_key,
            stripe,
        ] {
            assert!(!printed.contains(secret), "{secret} printed: {printed}");
            assert!(
                !serialized.contains(secret),
                "{secret} serialized: {serialized}"
            );
        }
        // What is not secret still shows.
        assert!(printed.contains("2027-01") && printed.contains("paylater:events"));
    }

    #[test]
    fn the_defaults_survive_serialization() {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .extract()
            .unwrap();
        assert_eq!(config.database.url.expose_secret(), DEFAULT_DATABASE_URL);
        assert!(config.redis.url.is_none());
        assert!(config.encryption.lookup_key.is_none());
        assert!(config.gateway.stripe_secret_key.is_none());
        assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn every_variable_sets_a_setting_and_every_setting_has_a_variable() {
        let defaults = Figment::from(Serialized::defaults(Config::default()));
        for (variable, key) in ENV_KEYS {
            // A table is no setting's type: it is refused under the key, which a key
            // naming no setting is not (its section would refuse it as unknown).
            let wrong = std::collections::BTreeMap::from([("unexpected", 0)]);
            let err = defaults
                .clone()
                .merge(Serialized::default(key, wrong))
                .extract::<Config>()
                .expect_err(key);
            let setting: Vec<String> = key.split('.').map(str::to_owned).collect();
            assert!(
                !matches!(err.kind, Kind::UnknownField(..)) && err.path.starts_with(&setting),
                "{variable} sets {key}: {err}"
            );
        }

        fn leaves(prefix: &str, dict: &Dict, into: &mut Vec<String>) {
            for (name, value) in dict {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                match value.as_dict() {
                    Some(section) => leaves(&key, section, into),
                    None => into.push(key),
                }
            }
        }
        let mut keys = Vec::new();
        let data = defaults.data().unwrap();
        leaves("", &data[&Profile::Default], &mut keys);
        assert!(keys.len() > 30, "{keys:?}");
        for key in keys {
            assert!(
                ENV_KEYS.iter().any(|(_, known)| *known == key),
                "no variable sets {key}"
            );
        }
    }

    #[test]
    fn environment_variables_map_to_their_section_keys() {
        let key = |name: &str| Environment::key(UncasedStr::new(name)).map(|key| key.to_string());
        assert_eq!(key("DATABASE_URL").as_deref(), Some("database.url"));
        assert_eq!(key("APP_ENV").as_deref(), Some("app_env"));
        assert_eq!(
            key("PAYLATER_DATABASE_MAX_CONNECTIONS").as_deref(),
            Some("database.max_connections")
        );
        assert_eq!(
            key("PAYLATER_RATE_LIMIT_BURST").as_deref(),
            Some("limits.rate_limit_burst")
        );
        assert_eq!(
            key("PAYLATER_PAYMENT_GATEWAY").as_deref(),
            Some("gateway.kind")
        );
        // A misspelt variable reaches the configuration, which refuses it.
        assert_eq!(
            key("PAYLATER_CHEKOUT_TTL_MINUTES").as_deref(),
            Some("PAYLATER_CHEKOUT_TTL_MINUTES")
        );
        assert_eq!(key(CONFIG_FILE_VAR), None);
        assert_eq!(key("HOME"), None);
        // Errors name the variable, not the key.
        let named = Environment
            .metadata()
            .interpolate(&Profile::Default, &["database", "max_connections"]);
        assert_eq!(named, "PAYLATER_DATABASE_MAX_CONNECTIONS");
    }

    /// A production configuration that sets only what production requires.
    const PRODUCTION: &str = r#"
        app_env = "production"
        [server]
        checkout_app_url = "https://pay.example/c"
        [auth]
        jwt_keys = [{ kid = "2027-01", private_key_file = "/etc/paylater/jwt.pem" }]
        [encryption]
        lookup_key = "abababababababababababababababababababababababababababababababab"
        keys = [{ id = "2027-01", key_hex = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd" }]
        [gateway]
        kind = "stripe"
        stripe_secret_key = "sk_live_abc"
    "#;

    fn load(files: &[&str]) -> Result<Config, ConfigError> {
        let sources = files.iter().fold(Figment::new(), |sources, file| {
            sources.merge(Toml::string(file))
        });
        Config::from_sources(sources)
    }

    #[test]
    fn a_file_sets_settings_by_section() {
        let config = load(&[
            "[database]\nurl = \"sqlite://other.db\"\nmax_connections = 3\n[limits]\ncheckout_ttl_minutes = 30\n[redis]\nurl = \"redis://cache:6379\"",
        ])
        .unwrap();
        assert_eq!(config.database.url.expose_secret(), "sqlite://other.db");
        assert_eq!(config.database.max_connections, 3);
        assert_eq!(config.limits.checkout_ttl_minutes, 30);
        assert_eq!(
            config.redis.url.as_ref().map(|url| url.expose_secret()),
            Some("redis://cache:6379")
        );
        // The rest of a section keeps its defaults.
        assert!(config.database.run_migrations);
        assert_eq!(config.redis.channel, "paylater:events");

        // A setting outside its section, or misspelt, is refused by name.
        for (file, named) in [
            ("checkout_ttl_minutes = 30", "checkout_ttl_minutes"),
            ("[limits]\nchekout_ttl_minutes = 30", "chekout_ttl_minutes"),
        ] {
            match load(&[file]) {
                Err(ConfigError::Read(err)) => assert!(err.to_string().contains(named), "{err}"),
                other => panic!("{file:?} must be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn production_turns_off_development_conveniences_the_operator_left_alone() {
        let config = load(&[PRODUCTION]).unwrap();
        assert!(!config.database.seed_demo);
        assert!(!config.server.graphql_introspection);
        assert!(config.webhooks.https_only);
        assert!(config.webhooks.public_addresses_only);

        // Set explicitly, introspection stays on in production.
        let config = load(&[PRODUCTION, "[server]\ngraphql_introspection = true"]).unwrap();
        assert!(config.server.graphql_introspection);

        // And the other conveniences, set explicitly, are refused rather than overridden.
        for (file, named) in [
            ("[database]\nseed_demo = true", "database.seed_demo"),
            ("[webhooks]\nhttps_only = false", "webhooks.https_only"),
            (
                "[webhooks]\npublic_addresses_only = false",
                "webhooks.public_addresses_only",
            ),
        ] {
            match load(&[PRODUCTION, file]) {
                Err(ConfigError::Invalid(problems)) => {
                    assert_eq!(problems.len(), 1, "{problems:?}");
                    assert!(problems[0].contains(named), "{problems:?}");
                }
                other => panic!("{file:?} must be refused, got {other:?}"),
            }
        }

        // Development keeps its conveniences unless they are turned off.
        let config = load(&["[database]\nseed_demo = false"]).unwrap();
        assert!(!config.database.seed_demo);
        assert!(config.server.graphql_introspection);
        assert!(!config.webhooks.https_only);
    }

    #[test]
    fn the_maximum_checkout_total_is_bounded() {
        let config = Config::default();
        assert_eq!(config.limits.max_checkout_total, 1_000_000);
        assert_eq!(
            config
                .limits
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
            let mut config = Config::default();
            config.limits.max_checkout_total = value;
            match config.validate() {
                Ok(()) => {
                    assert!(valid, "{value} must be refused");
                    assert_eq!(config.limits.max_checkout_total().hundredths(), value * 100);
                }
                Err(ConfigError::Invalid(problems)) => {
                    assert!(!valid, "{value} must be accepted: {problems:?}");
                    assert_eq!(problems.len(), 1, "{problems:?}");
                    assert!(problems[0].starts_with("limits.max_checkout_total must be"));
                }
                Err(other) => panic!("{other}"),
            }
        }
    }

    #[test]
    fn reports_every_problem() {
        let mut config = Config::default();
        config.database.url = "postgres://x".into();
        config.limits.checkout_ttl_minutes = 1;
        config.server.body_limit_bytes = 10;
        config.server.cors_allowed_origins = vec![
            "https://ok.example".into(),
            "https://shop.example/path".into(),
        ];
        config.jobs.expiry_sweep_seconds = 0;
        config.jobs.outbox_retention_days = 0;
        config.webhooks.retention_days = 3651;
        let problems = problems(&config);
        assert_eq!(problems.len(), 7, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("jobs.outbox_retention_days"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("webhooks.retention_days"))
        );
        assert!(problems.iter().any(|p| p.contains("shop.example/path")));
    }
}
