//! A paylater server process killed with SIGKILL while payments are at the gateway (Stripe,
//! the local fake), then started again: every idempotency key sent again reaches a final
//! outcome once the reconciler's age has passed, with one order per checkout, one charge
//! per order and never more refunded than captured.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use entity::{idempotency_key, order, payment, payment_attempt};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    fake_stripe::{FakeStripe, Fault, SECRET_KEY},
    helpers::{TestDatabase, checkout_input, create_checkout_mutation, create_database},
};

/// How long anything a test waits for may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(90);
/// How often a test looks again at a server starting or a payment settling.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// Answers that mean "not final yet: ask again".
const NOT_FINAL: [&str; 3] = [
    "PAYMENT_PENDING",
    "IDEMPOTENCY_KEY_IN_USE",
    "PAYMENT_IN_PROGRESS",
];

/// A deployment under test: its database, the fake Stripe, and the server process, if one
/// runs.
struct Deployment {
    database_url: String,
    /// The merchant's API key.
    merchant: String,
    _database: TestDatabase,
    stripe: FakeStripe,
    dir: tempfile::TempDir,
    server: Option<Child>,
    base: String,
    client: reqwest::Client,
    db: DatabaseConnection,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Deployment {
    async fn start() -> Self {
        paylater::tls::install_provider();
        let (database_url, database) = create_database().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let stripe = FakeStripe::start().await;
        let created = paylater(dir.path(), &database_url, &stripe)
            .args(["merchant", "create", "--name", "Shop", "--json"])
            .output()
            .expect("run paylater merchant create");
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let created: Value = serde_json::from_slice(&created.stdout).expect("JSON");
        let merchant = created["apiKey"].as_str().expect("an API key").to_owned();
        let db = paylater::db::connect(&database_url, 2)
            .await
            .expect("connect to the test database");
        let mut deployment = Self {
            database_url,
            merchant,
            _database: database,
            stripe,
            dir,
            server: None,
            base: String::new(),
            client: reqwest::Client::new(),
            db,
        };
        deployment.run_server().await;
        deployment
    }

    /// Starts the server process and waits until it answers.
    async fn run_server(&mut self) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("server log");
        let child = paylater(self.dir.path(), &self.database_url, &self.stripe)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start paylater");
        self.server = Some(child);
        self.base = format!("http://127.0.0.1:{port}");
        let ready = async {
            loop {
                let answered = self
                    .client
                    .get(format!("{}/readyz", self.base))
                    .send()
                    .await;
                if answered.is_ok_and(|r| r.status().is_success()) {
                    return;
                }
                tokio::time::sleep(LOOK_AGAIN).await;
            }
        };
        if tokio::time::timeout(PATIENCE, ready).await.is_err() {
            panic!("the server did not start:\n{}", self.log());
        }
    }

    /// SIGKILL: the process ends at once, in whatever it was doing.
    fn kill(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A GraphQL request (anonymous when `key` is empty); `None` when the server did not answer (it was killed).
    async fn gql(&self, key: &str, query: &str, variables: Value) -> Option<Value> {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if !key.is_empty() {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.ok()?;
        response.json().await.ok()
    }

    async fn must(&self, key: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(key, query, variables).await;
        body.unwrap_or_else(|| panic!("no answer:\n{}", self.log()))
    }

    /// A consumer with a Stripe card and credit for many orders: their access token and
    /// the card's ID.
    async fn shopper(&self) -> (String, String) {
        let register = "mutation { registerConsumer(input: { email: \"ada@example.com\", password: \"correct horse battery\" }) { consumer { id } } }";
        self.must("", register, json!({})).await;
        let login = "mutation { login(input: { email: \"ada@example.com\", password: \"correct horse battery\" }) { session { accessToken } } }";
        let session = self.must("", login, json!({})).await;
        let token = session["data"]["login"]["session"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{session}"))
            .to_owned();
        entity::consumer::Entity::update_many()
            .col_expr(
                entity::consumer::Column::SpendingLimitMinor,
                sea_orm::sea_query::Expr::value(100_000_000i64),
            )
            .exec(&self.db)
            .await
            .unwrap();
        let pm = self.stripe.add_card("visa", "4242", 12, 2030, "fp_visa");
        let added = self
            .must(
                &token,
                "mutation($t: String!) { addPaymentMethod(input: { token: $t }) { paymentMethod { id } } }",
                json!({ "t": pm }),
            )
            .await;
        let card = added["data"]["addPaymentMethod"]["paymentMethod"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{added}"))
            .to_owned();
        (token, card)
    }

    async fn checkouts(&self, merchant: &str, count: usize) -> Vec<String> {
        let mut tokens = Vec::new();
        for n in 0..count {
            let body = self
                .must(
                    merchant,
                    &create_checkout_mutation(),
                    json!({ "input": checkout_input(&format!("o-{n}")) }),
                )
                .await;
            tokens.push(
                body["data"]["createCheckout"]["checkoutToken"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{body}"))
                    .to_owned(),
            );
        }
        tokens
    }

    /// Sends `send` again until its answer is final, and returns it.
    async fn until_final(&self, mutation: &str, send: impl AsyncFn() -> Option<Value>) -> Value {
        let settle = async {
            loop {
                if let Some(body) = send().await {
                    let codes = codes(&body, mutation);
                    if !codes.iter().any(|code| NOT_FINAL.contains(&code.as_str())) {
                        return body;
                    }
                }
                tokio::time::sleep(LOOK_AGAIN).await;
            }
        };
        match tokio::time::timeout(PATIENCE, settle).await {
            Ok(body) => body,
            Err(_) => panic!("a key never reached a final outcome:\n{}", self.log()),
        }
    }

    /// Nothing is left half-done: no key in progress or pending, no payment pending.
    async fn pending_attempts(&self) -> u64 {
        payment_attempt::Entity::find()
            .filter(payment_attempt::Column::Status.eq("PENDING"))
            .count(&self.db)
            .await
            .unwrap()
    }

    async fn assert_nothing_pending(&self) {
        let keys = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Status.ne("DONE"))
            .count(&self.db)
            .await
            .unwrap();
        assert_eq!(keys, 0, "idempotency keys not final");
        assert_eq!(
            self.pending_attempts().await,
            0,
            "payment attempts still pending"
        );
    }
}

/// The `paylater` binary for this deployment: Stripe (the fake) as the gateway, the
/// reconciler's age and the job interval at one second.
fn paylater(dir: &Path, database_url: &str, stripe: &FakeStripe) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paylater"));
    command
        .current_dir(dir)
        .env_remove("APP_ENV")
        .env("DATABASE_URL", database_url)
        .env("PAYLATER_SEED_DEMO", "false")
        // Servers of parallel tests each take a free port for their metrics.
        .env("PAYLATER_METRICS_LISTEN", "127.0.0.1:0")
        .env("PAYLATER_PAYMENT_GATEWAY", "stripe")
        .env("PAYLATER_STRIPE_SECRET_KEY", SECRET_KEY)
        .env("PAYLATER_STRIPE_API_BASE", stripe.base_url())
        .env("PAYLATER_PAYMENT_RECONCILE_AFTER_SECONDS", "1")
        .env("PAYLATER_EXPIRY_SWEEP_SECONDS", "1");
    command
}

fn codes(body: &Value, mutation: &str) -> Vec<String> {
    body["data"][mutation]["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const CONFIRM: &str = "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) {
    order { id } userErrors { field code message } } }";

async fn confirm(
    deployment: &Deployment,
    (token, card): &(String, String),
    checkout: &str,
    key: String,
) -> Option<Value> {
    deployment
        .gql(
            token,
            CONFIRM,
            json!({ "i": { "token": checkout, "plan": "PAY_IN_3", "paymentMethodId": card, "idempotencyKey": key } }),
        )
        .await
}

/// Confirms every checkout (key `k-<n>` for the `n`th), sending each key again until it
/// is final; returns the order IDs.
async fn confirm_all(
    deployment: &Deployment,
    shopper: &(String, String),
    checkouts: &[String],
) -> Vec<String> {
    let mut orders = Vec::new();
    for (n, checkout) in checkouts.iter().enumerate() {
        let key = format!("k-{n}");
        let body = deployment
            .until_final("confirmCheckout", async || {
                confirm(deployment, shopper, checkout, key.clone()).await
            })
            .await;
        orders.push(
            body["data"]["confirmCheckout"]["order"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned(),
        );
    }
    orders
}

#[tokio::test]
async fn killed_during_parallel_confirmations_every_key_ends_with_one_charge() {
    let mut deployment = Deployment::start().await;
    let merchant = deployment.merchant.clone();
    let shopper = deployment.shopper().await;
    let checkouts = deployment.checkouts(&merchant, 32).await;
    let stripe = &deployment.stripe;

    // Eight first, two of whose answers Stripe loses after charging.
    stripe.fail("/v1/payment_intents", 2, Fault::DropAfterEffect);
    let first = futures_util::future::join_all(
        (0..8).map(|n| confirm(&deployment, &shopper, &checkouts[n], format!("k-{n}"))),
    )
    .await;
    let pending = first
        .iter()
        .filter(|body| {
            body.as_ref()
                .is_some_and(|b| codes(b, "confirmCheckout") == ["PAYMENT_PENDING"])
        })
        .count();
    assert_eq!(pending, 2, "{first:#?}");

    // Then 24 at once; the server dies with sixteen of them at Stripe's door.
    stripe.hold("/v1/payment_intents");
    let keys: Vec<String> = (8..32).map(|n| format!("k-{n}")).collect();
    let wave = futures_util::future::join_all(
        keys.iter()
            .zip(&checkouts[8..])
            .map(|(key, checkout)| confirm(&deployment, &shopper, checkout, key.clone())),
    );
    let kill = async {
        tokio::time::timeout(PATIENCE, stripe.wait_for_held(16))
            .await
            .expect("sixteen charges at Stripe at once");
    };
    let (_, ()) = tokio::join!(wave, kill);
    deployment.kill();
    let stopped = deployment.pending_attempts().await;
    assert!(
        stopped >= 18,
        "two lost answers and sixteen at the door: {stopped}"
    );
    // Requests already at Stripe may still be carried out, their answers lost.
    deployment.stripe.release();
    deployment.stripe.wait_until_idle().await;

    deployment.run_server().await;
    let orders = confirm_all(&deployment, &shopper, &checkouts).await;
    assert_eq!(
        orders.iter().collect::<HashSet<_>>().len(),
        32,
        "one order per checkout"
    );
    assert_eq!(
        order::Entity::find().count(&deployment.db).await.unwrap(),
        32
    );
    let charges = deployment.stripe.charges();
    assert_eq!(charges.len(), 32, "one charge per order: {charges:#?}");
    let references: HashSet<String> = payment::Entity::find()
        .filter(payment::Column::Status.eq("SUCCEEDED"))
        .all(&deployment.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| p.gateway_reference)
        .collect();
    assert_eq!(
        references,
        charges.iter().map(|c| c.id.clone()).collect(),
        "every charge is an order's first instalment"
    );
    deployment.assert_nothing_pending().await;
}

const REFUND: &str = "mutation($i: RefundOrderInput!) { refundOrder(input: $i) {
    refund { amount { amount } refundedToCard { amount } } userErrors { field code message } } }";

/// The merchant refunds 60.00 of `order` under `key`.
async fn refund(deployment: &Deployment, order: &str, key: &str) -> Option<Value> {
    deployment
        .gql(
            &deployment.merchant,
            REFUND,
            json!({ "i": { "id": order, "amount": { "amount": "60.00", "currencyCode": "EUR" }, "idempotencyKey": key } }),
        )
        .await
}

#[tokio::test]
async fn killed_during_parallel_refunds_never_more_is_refunded_than_captured() {
    let mut deployment = Deployment::start().await;
    let merchant = deployment.merchant.clone();
    let shopper = deployment.shopper().await;
    let checkouts = deployment.checkouts(&merchant, 10).await;
    let orders = confirm_all(&deployment, &shopper, &checkouts).await;
    for order in &orders {
        let captured = deployment
            .must(
                &merchant,
                "mutation($i: OrderActionInput!) { captureOrder(input: $i) { order { status } } }",
                json!({ "i": { "id": order, "idempotencyKey": format!("cap-{order}") } }),
            )
            .await;
        assert_eq!(
            captured["data"]["captureOrder"]["order"]["status"], "CAPTURED",
            "{captured}"
        );
    }
    // Two refunds of 60.00 for each 85.00 order, at once: only one fits (56.66 off the
    // unpaid instalments, 3.34 back to the card). The server dies with ten at Stripe.
    let keys: Vec<(String, String)> = orders
        .iter()
        .flat_map(|order| {
            [
                (order.clone(), format!("a-{order}")),
                (order.clone(), format!("b-{order}")),
            ]
        })
        .collect();
    deployment.stripe.hold("/v1/refunds");
    let wave = futures_util::future::join_all(
        keys.iter()
            .map(|(order, key)| refund(&deployment, order, key)),
    );
    let kill = async {
        tokio::time::timeout(PATIENCE, deployment.stripe.wait_for_held(10))
            .await
            .expect("ten refunds at Stripe at once");
    };
    let (_, ()) = tokio::join!(wave, kill);
    deployment.kill();
    assert_eq!(
        deployment.pending_attempts().await,
        10,
        "one refund per order at Stripe"
    );
    deployment.stripe.release();
    deployment.stripe.wait_until_idle().await;

    deployment.run_server().await;
    let mut refunded: HashMap<String, usize> = HashMap::new();
    for (order, key) in &keys {
        let body = deployment
            .until_final("refundOrder", async || {
                refund(&deployment, order, key).await
            })
            .await;
        if body["data"]["refundOrder"]["refund"].is_object() {
            assert_eq!(
                body["data"]["refundOrder"]["refund"]["refundedToCard"]["amount"], "3.34",
                "{body}"
            );
            *refunded.entry(order.clone()).or_default() += 1;
        } else {
            assert_eq!(
                codes(&body, "refundOrder"),
                ["REFUND_EXCEEDS_REFUNDABLE"],
                "{body}"
            );
        }
    }
    assert!(
        orders.iter().all(|order| refunded.get(order) == Some(&1)),
        "each order refunded once: {refunded:?}"
    );
    let charges = deployment.stripe.charges();
    let refunds = deployment.stripe.refunds();
    assert_eq!(
        refunds.len(),
        10,
        "one refund per order at Stripe: {refunds:#?}"
    );
    for charge in &charges {
        let back: i64 = refunds
            .iter()
            .filter(|r| r.payment_intent == charge.id)
            .map(|r| r.amount)
            .sum();
        assert_eq!(back, 334, "refunded of {}", charge.id);
    }
    for row in order::Entity::find().all(&deployment.db).await.unwrap() {
        assert_eq!(row.refunded_minor, 6000);
        assert!(row.refunded_minor <= row.captured_minor);
    }
    deployment.assert_nothing_pending().await;
}
