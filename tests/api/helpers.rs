//! The test harness: a real server on an ephemeral port over a fresh database per test
//! (a SQLite file, or a new MariaDB/MySQL database when `TEST_DATABASE_URL` is set), with a
//! manual clock and a counter of SQL statements.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use chrono::{DateTime, TimeZone, Utc};
use paylater::{
    app::AppState,
    auth::{api_key::NewApiKey, totp},
    clock::{Clock, ManualClock},
    config::Config,
    domain::staff::StaffRole,
    graphql::ids::{NodeKind, encode},
    payments::sandbox::SandboxGateway,
    service::{audit::Actor, merchants, staff},
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// The instant every test starts at: the 31st, so monthly schedules show month-end clamping.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).unwrap()
}

/// A merchant created for a test, with its API key.
#[derive(Debug, Clone)]
pub struct TestMerchant {
    /// Global ID.
    pub id: String,
    /// Its first API key.
    pub key: String,
}

/// A member of staff created for a test, signed in.
#[derive(Debug, Clone)]
pub struct TestStaff {
    /// Work email.
    pub email: String,
    /// Password.
    pub password: String,
    /// TOTP secret.
    pub totp_secret: String,
    /// A valid access token.
    pub token: String,
}

/// Where a test's database lives, removed when the test ends.
pub enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Server {
        server_url: String,
        name: String,
    },
    /// Another instance's, removed with that instance.
    Shared,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Server { server_url, name } = self {
            let (server_url, name) = (server_url.clone(), name.clone());
            // The test's runtime is shutting down; drop the database from a runtime of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let db = sea_orm::Database::connect(server_url.as_str()).await.ok()?;
                    // The test's server still holds connections, and its runtime (blocked
                    // here) cannot finish a transaction one of them may have open: end them
                    // first, or the drop would wait for their locks forever.
                    let sessions = db
                        .query_all_raw(sea_orm::Statement::from_string(
                            db.get_database_backend(),
                            format!(
                                "SELECT CAST(id AS SIGNED) FROM information_schema.processlist WHERE db = '{name}'"
                            ),
                        ))
                        .await
                        .ok()?;
                    for session in sessions {
                        if let Ok(id) = session.try_get_by_index::<i64>(0) {
                            let _ = db.execute_unprepared(&format!("KILL {id}")).await;
                        }
                    }
                    db.execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// What the test's database connections ran: a count, and the statements themselves
/// while a test records them.
#[derive(Default)]
pub struct SqlLog {
    count: AtomicUsize,
    recording: Mutex<Option<Vec<sea_orm::Statement>>>,
}

impl SqlLog {
    fn note(&self, statement: &sea_orm::Statement) {
        self.count.fetch_add(1, Ordering::SeqCst);
        if let Some(recorded) = self.recording.lock().expect("sql log").as_mut() {
            recorded.push(statement.clone());
        }
    }
}

/// A running paylater server for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The server's clock; tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    /// The test's database, for assertions on what was stored.
    pub db: DatabaseConnection,
    /// The running application, for driving background jobs.
    pub state: AppState,
    /// The payment gateway, shared by every instance of the deployment as a real one is.
    pub sandbox: Arc<SandboxGateway>,
    sql: Arc<SqlLog>,
    _database: TestDatabase,
}

/// A fresh database for one test (on `TEST_DATABASE_URL`'s server, or a SQLite file), and
/// its URL.
pub async fn create_database() -> (String, TestDatabase) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let mut server = url::Url::parse(&url).expect("TEST_DATABASE_URL is a URL");
            let name = format!("paylater_t_{}", uuid::Uuid::now_v7().simple());
            server.set_path("");
            let server_url = server.to_string();
            let admin = sea_orm::Database::connect(server_url.as_str())
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!(
                    "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ))
                .await
                .expect("create test database");
            let mut db_url = server.clone();
            db_url.set_path(&name);
            (
                db_url.to_string(),
                TestDatabase::Server { server_url, name },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

/// The configuration of a test server over a fresh database (returned with it): no demo
/// data, and an https checkout app.
async fn test_config() -> (Config, TestDatabase) {
    let (database_url, database) = create_database().await;
    let mut config = Config::default();
    config.database.url = database_url.into();
    config.database.seed_demo = false;
    config.server.checkout_app_url = Some("https://checkout.paylater.test/c".into());
    (config, database)
}

impl TestApp {
    /// Starts a server over a fresh, migrated database.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose configuration `configure` adjusts first.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let (mut config, database) = test_config().await;
        config.server.body_limit_bytes = 64 * 1024;
        configure(&mut config);
        let mut db = paylater::app::open_database(&config.database)
            .await
            .expect("open database");
        let sql = Arc::new(SqlLog::default());
        let log = sql.clone();
        // TEST_LOG_STATEMENTS=1 prints each statement, to explain a count.
        let print = std::env::var_os("TEST_LOG_STATEMENTS").is_some();
        db.set_metric_callback(move |info| {
            log.note(info.statement);
            if print {
                eprintln!("SQL {}", info.statement.sql);
            }
        });
        let clock = Arc::new(ManualClock::new(start_time()));
        let sandbox = Arc::new(SandboxGateway::new(std::time::Duration::from_millis(
            config.gateway.sandbox_latency_ms,
        )));
        Self::serve(config, db, clock, sandbox, sql, database)
    }

    /// Serves a paylater instance over `db` on an ephemeral port.
    fn serve(
        mut config: Config,
        db: DatabaseConnection,
        clock: Arc<ManualClock>,
        sandbox: Arc<SandboxGateway>,
        sql: Arc<SqlLog>,
        database: TestDatabase,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        // As the server does: the address bound is where its own checkout page is.
        config.server.listen = address;
        let state = AppState::with_gateway(config, db.clone(), clock.clone(), sandbox.clone())
            .expect("application");
        let scheme = if state.config.server.tls().is_some() {
            "https"
        } else {
            "http"
        };
        let served = state.clone();
        // The same serving path as production; the server lives as long as the test's runtime.
        tokio::spawn(paylater::http::serve_on(
            state,
            listener,
            std::future::pending(),
        ));
        Self {
            base: format!("{scheme}://{address}"),
            client: reqwest::Client::new(),
            clock,
            db,
            state: served,
            sandbox,
            sql,
            _database: database,
        }
    }

    /// A second instance of the same deployment: the same configuration, database and
    /// clock, its own process state (event bus, caches) and port.
    pub fn second_instance(&self) -> Self {
        Self::serve(
            self.state.config.clone(),
            self.db.clone(),
            self.clock.clone(),
            self.sandbox.clone(),
            self.sql.clone(),
            TestDatabase::Shared,
        )
    }

    /// Starts a server whose payment gateway is the one its configuration names, built as
    /// the server builds it (Stripe pointed at a [`crate::fake_stripe::FakeStripe`], say),
    /// over a fresh, migrated database; `configure` adjusts the configuration first.
    /// `sandbox` is then an idle sandbox no request reaches, and statements are not counted.
    pub async fn spawn_with_configured_gateway(configure: impl FnOnce(&mut Config)) -> Self {
        let (mut config, database) = test_config().await;
        configure(&mut config);
        let db = paylater::app::open_database(&config.database)
            .await
            .expect("open database");
        let clock = Arc::new(ManualClock::new(start_time()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        config.server.listen = listener.local_addr().expect("address");
        let base = format!("http://{}", config.server.listen);
        let state = AppState::new(config, db.clone(), clock.clone()).expect("application");
        tokio::spawn(paylater::http::serve_on(
            state.clone(),
            listener,
            std::future::pending(),
        ));
        Self {
            base,
            client: reqwest::Client::new(),
            clock,
            db,
            state,
            sandbox: Arc::default(),
            sql: Arc::default(),
            _database: database,
        }
    }

    /// Connects this instance's event bus to the configured Redis, as the server does.
    pub async fn start_broker(&self) -> paylater::events::broker::Broker {
        let redis = &self.state.config.redis;
        paylater::events::broker::Broker::start(
            &self.state.deps.events,
            &self.state.deps.caches,
            redis.url.as_ref().expect("redis.url").expose_secret(),
            &redis.channel,
        )
        .await
        .expect("connect to Redis")
    }

    /// Onboards a merchant with every plan enabled.
    pub async fn merchant(&self, name: &str) -> TestMerchant {
        let created = merchants::create(&self.state.deps, name, None, NewApiKey::generate(false))
            .await
            .expect("create merchant");
        TestMerchant {
            id: encode(NodeKind::Merchant, created.merchant.id).0,
            key: created.api_key.secret,
        }
    }

    /// Creates a member of staff as `paylater admin create` does, and signs them in over
    /// HTTP with password and TOTP code.
    pub async fn staff(&self, email: &str, role: StaffRole) -> TestStaff {
        let created = staff::create(&self.state.deps, &Actor::command_line(), email, role)
            .await
            .expect("create staff");
        let code = totp::code_at(&created.totp_secret, self.clock.now()).unwrap();
        let body = self
            .gql(
                None,
                "mutation($i: StaffLoginInput!) { staffLogin(input: $i) { session { accessToken } userErrors { code } } }",
                json!({ "i": { "email": email, "password": created.password, "code": code } }),
            )
            .await;
        let token = body["data"]["staffLogin"]["session"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("staff login: {body}"))
            .to_owned();
        TestStaff {
            email: created.member.email,
            password: created.password,
            totp_secret: created.totp_secret,
            token,
        }
    }

    /// POSTs a GraphQL request and returns the raw response.
    pub async fn post(
        &self,
        key: Option<&str>,
        query: &str,
        variables: Value,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("request")
    }

    /// POSTs a GraphQL request that must be answered with HTTP 200, returning its JSON body.
    pub async fn gql(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.post(key, query, variables).await;
        assert_eq!(response.status(), 200, "HTTP status");
        response.json().await.expect("JSON body")
    }

    /// Runs every job due as of `at` (RFC 3339) through `POST /sandbox/run-jobs`, and
    /// returns what they did.
    pub async fn run_jobs(&self, at: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/sandbox/run-jobs", self.base))
            .json(&json!({ "at": at }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["report"].clone()
    }

    /// Runs the outbox relay in the background, as the server does, so subscriptions hear
    /// events as they commit. Tests that count statements or drive the relay themselves do
    /// not start it.
    pub fn start_relay(&self) {
        paylater::jobs::spawn(
            self.state.deps.clone(),
            paylater::jobs::Job::Relay,
            paylater::jobs::RELAY_INTERVAL,
            tokio_util::sync::CancellationToken::new(),
        );
    }

    /// Waits until at least `count` subscriptions listen to the event bus, so that events
    /// committed next reach them.
    pub async fn listening(&self, count: usize) {
        let wait = async {
            while self.state.deps.events.listeners() < count {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("{count} subscriptions never started"));
    }

    /// SQL statements run so far.
    pub fn statements(&self) -> usize {
        self.sql.count.load(Ordering::SeqCst)
    }

    /// Runs `work` and returns what it did with the statements run meanwhile, values
    /// bound, in order.
    pub async fn recording<T>(
        &self,
        work: impl Future<Output = T>,
    ) -> (T, Vec<sea_orm::Statement>) {
        *self.sql.recording.lock().expect("sql log") = Some(Vec::new());
        let done = work.await;
        let recorded = self.sql.recording.lock().expect("sql log").take();
        (done, recorded.unwrap_or_default())
    }
}

/// A new Ed25519 private key in PKCS#8 PEM, and its public key in SPKI PEM.
pub fn new_signing_key() -> (String, String) {
    use ed25519_dalek::pkcs8::{
        EncodePrivateKey, EncodePublicKey, KeypairBytes, spki::der::pem::LineEnding,
    };
    let secret = rand::random::<[u8; 32]>();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    // PKCS#8 v1, as `openssl genpkey -algorithm ed25519` writes it.
    let v1 = KeypairBytes {
        secret_key: secret,
        public_key: None,
    };
    let private = v1
        .to_pkcs8_pem(LineEnding::LF)
        .expect("private PEM")
        .to_string();
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("public PEM");
    (private, public)
}

/// The `extensions.code` of every top-level error of a response.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A valid `createCheckout` input: 2 × 45.00 + 5.00 shipping − 10.00 discount = 85.00 EUR.
pub fn checkout_input(reference: &str) -> Value {
    json!({
        "merchantReference": reference,
        "items": [{
            "name": "Sneakers", "sku": "SNK-42", "quantity": 2,
            "unitPrice": { "amount": "45.00", "currencyCode": "EUR" },
            "imageUrl": "https://shop.example/sneakers.png", "category": "Shoes"
        }],
        "shipping": { "amount": "5.00", "currencyCode": "EUR" },
        "discount": { "amount": "10.00", "currencyCode": "EUR" },
        "total": { "amount": "85.00", "currencyCode": "EUR" },
        "shopper": { "email": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace", "phone": "+393331234567" },
        "shippingAddress": { "line1": "Via Roma 1", "city": "Milano", "postalCode": "20121", "countryCode": "IT" },
        "confirmUrl": "https://shop.example/ok",
        "cancelUrl": "https://shop.example/cancel"
    })
}

/// The selection of a checkout that tests read.
pub const CHECKOUT_FIELDS: &str = "id status currencyCode merchantReference expiresAt createdAt
    subtotal { amount currencyCode minorUnits } shipping { amount } tax { amount } discount { amount }
    total { amount currencyCode minorUnits }
    items { name sku quantity unitPrice { amount } totalPrice { amount } imageUrl category }
    shopper { email givenName familyName phone }
    shippingAddress { line1 city postalCode countryCode }
    merchant { id name }
    availablePlans { plan name installmentCount total { amount }
      installments { sequence dueDate amount { amount minorUnits } } }";

/// The `createCheckout` mutation returning token, URL, checkout and user errors.
pub fn create_checkout_mutation() -> String {
    format!(
        "mutation($input: CreateCheckoutInput!) {{ createCheckout(input: $input) {{
            checkoutToken checkoutUrl checkout {{ {CHECKOUT_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

/// Creates a checkout that must succeed; returns the payload.
pub async fn create_checkout(app: &TestApp, merchant: &TestMerchant, input: Value) -> Value {
    let body = app
        .gql(
            Some(&merchant.key),
            &create_checkout_mutation(),
            json!({ "input": input }),
        )
        .await;
    let payload = body["data"]["createCheckout"].clone();
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload
}
