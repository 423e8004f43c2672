//! A local fake of the Stripe v1 endpoints paylater calls, over real HTTP on 127.0.0.1, so
//! the Stripe adapter (and a whole paylater, in process or as a child process) can be
//! tested without the network.
//!
//! It behaves like Stripe where paylater depends on it:
//! - `Authorization: Bearer <SECRET_KEY>` is required (anything else: 401);
//! - a POST's `Idempotency-Key` saves the first answer of the endpoint (successes and
//!   declines); the same key with the same parameters replays it, with other parameters
//!   (or on another endpoint) it is a 400 `idempotency_error` (an endpoint runs under a
//!   lock, so a key is never seen in flight; [`Fault::Conflict`] answers the 409 Stripe
//!   gives then);
//! - `GET /v1/payment_methods/{pm}`, `POST /v1/customers`,
//!   `POST /v1/payment_methods/{pm}/attach`, `POST /v1/payment_intents` (confirmed at
//!   once; a PaymentMethod attached to another customer is refused),
//!   `GET /v1/payment_intents/{pi}`, and `POST /v1/refunds` bounded by what is left of the
//!   charge (`charge_already_refunded`, `amount_too_large`).
//!
//! Tests script faults for the next N requests to a path ([`FakeStripe::fail`]), add
//! latency, or hold requests at the door until they release them. It runs on a thread and
//! runtime of its own, so it keeps answering while a test blocks (waiting for a child
//! process, say), and stops when the [`FakeStripe`] is dropped.
//!
//! ```ignore
//! let stripe = FakeStripe::start().await;
//! let pm = stripe.add_card("visa", "4242", 12, 2030, "fp_visa");
//! stripe.fail("/v1/payment_intents", 1, Fault::DropAfterEffect);
//! // … point paylater at stripe.base_url() with fake_stripe::SECRET_KEY …
//! assert_eq!(stripe.charges().len(), 1);
//! ```

use std::{
    collections::{HashMap, HashSet},
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, State, connect_info::Connected},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    serve::{IncomingStream, Listener},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{oneshot, watch},
};

/// The only secret key the fake accepts.
pub const SECRET_KEY: &str = "sk_test_paylater_fake_stripe";

/// A request the fake received, as it arrived (faulted and held ones included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The form fields of the body in order (for a GET, the query's).
    pub form: Vec<(String, String)>,
    /// Every header, names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The value of form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The `Idempotency-Key` header.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }
}

/// A PaymentIntent that succeeded: money taken from a card, once per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// `pi_…`.
    pub id: String,
    /// The `Idempotency-Key` it was created under.
    pub idempotency_key: Option<String>,
    /// In Stripe's minor units.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `cus_…`, if given.
    pub customer: Option<String>,
    /// `pm_…`.
    pub payment_method: String,
}

/// A refund Stripe took on (`succeeded` or `pending`), counted against its charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// The PaymentIntent refunded.
    pub payment_intent: String,
    /// In Stripe's minor units.
    pub amount: i64,
    /// `succeeded` or `pending`.
    pub status: String,
    /// The `Idempotency-Key` it was created under.
    pub idempotency_key: Option<String>,
}

/// What goes wrong with a request, scripted by [`FakeStripe::fail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 `api_error` before the endpoint runs: nothing done, nothing saved, so the
    /// same key sent again runs.
    ServerError,
    /// HTTP 429 `rate_limit`, nothing done or saved.
    RateLimited,
    /// HTTP 409 `idempotency_key_in_use`, nothing done or saved.
    Conflict,
    /// Any error answered before the endpoint runs (a 403, say), nothing done or saved.
    Error {
        /// HTTP status.
        status: u16,
        /// The error's `type`.
        kind: &'static str,
        /// The error's `code`.
        code: &'static str,
    },
    /// A charge declined with this `decline_code` (402 `card_error`; `code` is the decline
    /// code for `expired_card`, `processing_error` and `authentication_required`,
    /// `card_declined` otherwise). Saved under the key like any executed request, so the
    /// key replays the decline.
    Decline(&'static str),
    /// The connection is dropped before the request is looked at: nothing done.
    DropBeforeEffect,
    /// The request is carried out (and its answer saved under its key), then the
    /// connection is dropped without an answer.
    DropAfterEffect,
    /// The PaymentIntent is created `processing`; when it is next retrieved it has this
    /// status (`succeeded`, `processing`, or `requires_payment_method` with a
    /// `generic_decline`).
    Processing {
        /// The status it settles to.
        then: &'static str,
    },
    /// The refund is created with this status (`pending`, `failed`, `canceled`); failed
    /// and canceled ones do not count against the charge.
    RefundStatus(&'static str),
}

impl Fault {
    /// Faults that strike before the endpoint runs (the others when it runs).
    fn at_the_door(self) -> bool {
        matches!(
            self,
            Self::ServerError
                | Self::RateLimited
                | Self::Conflict
                | Self::Error { .. }
                | Self::DropBeforeEffect
        )
    }
}

struct Rule {
    pattern: String,
    remaining: usize,
    fault: Fault,
}

/// Whether `path` matches `pattern`, where a `*` segment matches any one segment.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<&str>, Vec<&str>) =
        (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(want, got)| *want == "*" || want == got)
}

struct PaymentMethod {
    brand: String,
    last4: String,
    exp_month: i32,
    exp_year: i32,
    fingerprint: String,
    customer: Option<String>,
}

struct Intent {
    amount: i64,
    currency: String,
    customer: Option<String>,
    payment_method: String,
    status: String,
    settles_to: Option<&'static str>,
    last_payment_error: Option<Value>,
    refunded: i64,
    key: Option<String>,
}

/// A saved answer of an idempotency key, with what it was for.
struct Saved {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    status: StatusCode,
    body: Value,
}

#[derive(Default)]
struct Ledger {
    requests: Vec<Request>,
    payment_methods: HashMap<String, PaymentMethod>,
    customers: HashSet<String>,
    intents: HashMap<String, Intent>,
    charges: Vec<Charge>,
    refunds: Vec<Refund>,
    saved: HashMap<String, Saved>,
    rules: Vec<Rule>,
    latency: Duration,
    next_id: u64,
}

impl Ledger {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_fake{:08}", self.next_id)
    }

    fn take_fault(&mut self, path: &str, at_the_door: bool) -> Option<Fault> {
        let rule = self.rules.iter_mut().find(|rule| {
            rule.remaining > 0
                && rule.fault.at_the_door() == at_the_door
                && matches(&rule.pattern, path)
        })?;
        rule.remaining -= 1;
        Some(rule.fault)
    }

    fn settle(&mut self, id: &str) {
        let Some(intent) = self.intents.get_mut(id) else {
            return;
        };
        let Some(status) = intent.settles_to.take() else {
            return;
        };
        intent.status = status.to_owned();
        match status {
            "succeeded" => {
                let charge = Charge {
                    id: id.to_owned(),
                    idempotency_key: intent.key.clone(),
                    amount: intent.amount,
                    currency: intent.currency.clone(),
                    customer: intent.customer.clone(),
                    payment_method: intent.payment_method.clone(),
                };
                self.charges.push(charge);
            }
            "requires_payment_method" => {
                intent.last_payment_error = Some(decline_error("generic_decline"));
            }
            _ => {}
        }
    }
}

struct Shared {
    ledger: Mutex<Ledger>,
    /// Path patterns whose requests wait at the door.
    held: watch::Sender<Vec<String>>,
    /// Requests waiting at the door now.
    waiting: watch::Sender<usize>,
    /// Requests being handled now.
    busy: watch::Sender<usize>,
}

impl Shared {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts a request on a counter while it lives.
struct Counted<'a>(&'a watch::Sender<usize>);

impl<'a> Counted<'a> {
    fn new(counter: &'a watch::Sender<usize>) -> Self {
        counter.send_modify(|n| *n += 1);
        Self(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// The fake Stripe server; see the module documentation.
pub struct FakeStripe {
    shared: Arc<Shared>,
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FakeStripe {
    /// Starts a fake on an ephemeral port of 127.0.0.1, answering at once.
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake Stripe");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("address");
        let shared = Arc::new(Shared {
            ledger: Mutex::default(),
            held: watch::Sender::new(Vec::new()),
            waiting: watch::Sender::new(0),
            busy: watch::Sender::new(0),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let served = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("the fake Stripe's runtime");
            runtime.block_on(async move {
                let listener = Cuttable(TcpListener::from_std(listener).expect("listener"));
                let app = Router::new().fallback(handle).with_state(served);
                let serving = axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<Connection>(),
                );
                tokio::select! {
                    _ = serving => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime here ends every request still held.
        });
        Self {
            shared,
            base_url: format!("http://{address}"),
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:<port>`: the `stripe_api_base` to configure.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Creates a card PaymentMethod as Stripe.js would (attached to no customer) and
    /// returns its id, `pm_…`. `brand` is Stripe's name (`visa`, `mastercard`, `amex`…);
    /// the same `fingerprint` marks the same card number.
    pub fn add_card(
        &self,
        brand: &str,
        last4: &str,
        exp_month: i32,
        exp_year: i32,
        fingerprint: &str,
    ) -> String {
        let mut ledger = self.shared.ledger();
        let id = ledger.id("pm");
        ledger.payment_methods.insert(
            id.clone(),
            PaymentMethod {
                brand: brand.to_owned(),
                last4: last4.to_owned(),
                exp_month,
                exp_year,
                fingerprint: fingerprint.to_owned(),
                customer: None,
            },
        );
        id
    }

    /// The customer a PaymentMethod is attached to, if any.
    pub fn customer_of(&self, payment_method: &str) -> Option<String> {
        self.shared
            .ledger()
            .payment_methods
            .get(payment_method)
            .and_then(|method| method.customer.clone())
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.ledger().requests.clone()
    }

    /// The PaymentIntents that succeeded, in order (one per key: replays add none).
    pub fn charges(&self) -> Vec<Charge> {
        self.shared.ledger().charges.clone()
    }

    /// The refunds taken on, in order (one per key: replays add none).
    pub fn refunds(&self) -> Vec<Refund> {
        self.shared.ledger().refunds.clone()
    }

    /// Makes the next `times` requests whose path matches `path` (a `*` segment matches any
    /// one segment, as in `/v1/payment_methods/*/attach`) meet `fault`. Door faults hit the
    /// next requests that arrive; the others the next ones the endpoint carries out
    /// (replays pass them by).
    pub fn fail(&self, path: &str, times: usize, fault: Fault) {
        self.shared.ledger().rules.push(Rule {
            pattern: path.to_owned(),
            remaining: times,
            fault,
        });
    }

    /// Makes every request wait this long before it is looked at, as a network does.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.ledger().latency = latency;
    }

    /// Makes requests whose path matches `path` (as in [`Self::fail`]) wait at the door,
    /// recorded but not looked at, until [`Self::release`].
    pub fn hold(&self, path: &str) {
        self.shared
            .held
            .send_modify(|held| held.push(path.to_owned()));
    }

    /// Lets held and later requests through.
    pub fn release(&self) {
        self.shared.held.send_replace(Vec::new());
    }

    /// Waits until at least `count` requests wait at the door.
    pub async fn wait_for_held(&self, count: usize) {
        let mut waiting = self.shared.waiting.subscribe();
        let _ = waiting.wait_for(|n| *n >= count).await;
    }

    /// Waits until no request is being handled (those whose client gave up included).
    pub async fn wait_until_idle(&self) {
        let mut busy = self.shared.busy.subscribe();
        let _ = busy.wait_for(|n| *n == 0).await;
    }
}

fn stripe_error(status: StatusCode, error: Value) -> (StatusCode, Value) {
    (status, json!({ "error": error }))
}

fn invalid(param: &str, code: &str, message: &str) -> (StatusCode, Value) {
    stripe_error(
        StatusCode::BAD_REQUEST,
        json!({ "type": "invalid_request_error", "code": code, "param": param, "message": message }),
    )
}

fn missing(status: StatusCode, param: &str, what: &str, id: &str) -> (StatusCode, Value) {
    stripe_error(
        status,
        json!({ "type": "invalid_request_error", "code": "resource_missing", "param": param,
                "message": format!("No such {what}: '{id}'") }),
    )
}

/// Stripe's error object of a card declined with `decline_code`.
fn decline_error(decline_code: &str) -> Value {
    let code = match decline_code {
        "expired_card" | "processing_error" | "authentication_required" | "incorrect_cvc" => {
            decline_code
        }
        _ => "card_declined",
    };
    json!({ "type": "card_error", "code": code, "decline_code": decline_code,
            "message": "Your card was declined." })
}

fn payment_method_json(id: &str, method: &PaymentMethod) -> Value {
    json!({
        "id": id, "object": "payment_method", "type": "card", "customer": method.customer,
        "livemode": false,
        "card": { "brand": method.brand, "last4": method.last4, "exp_month": method.exp_month,
                  "exp_year": method.exp_year, "fingerprint": method.fingerprint,
                  "funding": "credit", "country": "US" },
    })
}

fn intent_json(id: &str, intent: &Intent) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": intent.amount,
        "currency": intent.currency, "customer": intent.customer,
        "payment_method": intent.payment_method, "status": intent.status,
        "last_payment_error": intent.last_payment_error,
        "metadata": { "paylater_idempotency_key": intent.key },
    })
}

/// Runs an endpoint and answers it.
fn execute(
    ledger: &mut Ledger,
    method: &Method,
    segments: &[&str],
    form: &[(String, String)],
    key: Option<&str>,
    fault: Option<Fault>,
) -> (StatusCode, Value) {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match (method.as_str(), segments) {
        ("GET", ["v1", "payment_methods", id]) => match ledger.payment_methods.get(*id) {
            Some(found) => (StatusCode::OK, payment_method_json(id, found)),
            None => missing(StatusCode::NOT_FOUND, "payment_method", "PaymentMethod", id),
        },
        ("POST", ["v1", "customers"]) => {
            let id = ledger.id("cus");
            ledger.customers.insert(id.clone());
            (
                StatusCode::OK,
                json!({ "id": id, "object": "customer",
                        "metadata": { "paylater_idempotency_key": field("metadata[paylater_idempotency_key]") } }),
            )
        }
        ("POST", ["v1", "payment_methods", id, "attach"]) => {
            let Some(customer) = field("customer") else {
                return invalid(
                    "customer",
                    "parameter_missing",
                    "Missing required param: customer.",
                );
            };
            if !ledger.customers.contains(&customer) {
                return missing(StatusCode::BAD_REQUEST, "customer", "customer", &customer);
            }
            let Some(found) = ledger.payment_methods.get_mut(*id) else {
                return missing(StatusCode::NOT_FOUND, "payment_method", "PaymentMethod", id);
            };
            match &found.customer {
                Some(other) if *other != customer => invalid(
                    "payment_method",
                    "payment_method_unexpected_state",
                    "The payment method you provided has already been attached to a customer.",
                ),
                _ => {
                    found.customer = Some(customer);
                    (StatusCode::OK, payment_method_json(id, found))
                }
            }
        }
        ("POST", ["v1", "payment_intents"]) => create_intent(ledger, &field, key, fault),
        ("GET", ["v1", "payment_intents", id]) => {
            ledger.settle(id);
            match ledger.intents.get(*id) {
                Some(intent) => (StatusCode::OK, intent_json(id, intent)),
                None => missing(StatusCode::NOT_FOUND, "intent", "payment_intent", id),
            }
        }
        ("POST", ["v1", "refunds"]) => create_refund(ledger, &field, key, fault),
        _ => stripe_error(
            StatusCode::NOT_FOUND,
            json!({ "type": "invalid_request_error",
                    "message": format!("Unrecognized request URL ({method}: /{}).", segments.join("/")) }),
        ),
    }
}

fn create_intent(
    ledger: &mut Ledger,
    field: &dyn Fn(&str) -> Option<String>,
    key: Option<&str>,
    fault: Option<Fault>,
) -> (StatusCode, Value) {
    let amount = match field("amount").map(|a| a.parse::<i64>()) {
        Some(Ok(amount)) if amount >= 1 => amount,
        Some(Ok(_)) => {
            return invalid(
                "amount",
                "amount_too_small",
                "Amount must be at least 1 minor unit.",
            );
        }
        _ => {
            return invalid(
                "amount",
                "parameter_invalid_integer",
                "Invalid integer: amount",
            );
        }
    };
    let currency = field("currency").unwrap_or_default();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return invalid(
            "currency",
            "parameter_invalid_string",
            "Invalid currency: use a lowercase ISO code.",
        );
    }
    let Some(payment_method) = field("payment_method") else {
        return invalid(
            "payment_method",
            "parameter_missing",
            "Missing required param: payment_method.",
        );
    };
    let customer = field("customer");
    if let Some(customer) = &customer
        && !ledger.customers.contains(customer)
    {
        return missing(StatusCode::BAD_REQUEST, "customer", "customer", customer);
    }
    let Some(method) = ledger.payment_methods.get(&payment_method) else {
        return missing(
            StatusCode::BAD_REQUEST,
            "payment_method",
            "PaymentMethod",
            &payment_method,
        );
    };
    if method.customer.is_some() && method.customer != customer {
        return invalid(
            "payment_method",
            "payment_method_unexpected_state",
            "The provided PaymentMethod belongs to another Customer.",
        );
    }
    let id = ledger.id("pi");
    let mut intent = Intent {
        amount,
        currency,
        customer,
        payment_method,
        status: "succeeded".to_owned(),
        settles_to: None,
        last_payment_error: None,
        refunded: 0,
        key: key.map(str::to_owned),
    };
    if field("confirm").as_deref() != Some("true") {
        intent.status = "requires_confirmation".to_owned();
    }
    let answer = match fault {
        Some(Fault::Decline(decline_code)) => {
            intent.status = "requires_payment_method".to_owned();
            let error = decline_error(decline_code);
            intent.last_payment_error = Some(error.clone());
            let mut error = error;
            error["payment_intent"] = intent_json(&id, &intent);
            stripe_error(StatusCode::PAYMENT_REQUIRED, error)
        }
        Some(Fault::Processing { then }) => {
            intent.status = "processing".to_owned();
            intent.settles_to = Some(then);
            (StatusCode::OK, intent_json(&id, &intent))
        }
        _ => (StatusCode::OK, intent_json(&id, &intent)),
    };
    if intent.status == "succeeded" {
        ledger.charges.push(Charge {
            id: id.clone(),
            idempotency_key: intent.key.clone(),
            amount: intent.amount,
            currency: intent.currency.clone(),
            customer: intent.customer.clone(),
            payment_method: intent.payment_method.clone(),
        });
    }
    ledger.intents.insert(id, intent);
    answer
}

fn create_refund(
    ledger: &mut Ledger,
    field: &dyn Fn(&str) -> Option<String>,
    key: Option<&str>,
    fault: Option<Fault>,
) -> (StatusCode, Value) {
    let Some(intent_id) = field("payment_intent") else {
        return invalid(
            "payment_intent",
            "parameter_missing",
            "Missing required param: payment_intent.",
        );
    };
    let Some(intent) = ledger.intents.get(&intent_id) else {
        return missing(
            StatusCode::BAD_REQUEST,
            "payment_intent",
            "payment_intent",
            &intent_id,
        );
    };
    if intent.status != "succeeded" {
        return invalid(
            "payment_intent",
            "payment_intent_unexpected_state",
            "This PaymentIntent does not have a successful charge to refund.",
        );
    }
    let left = intent.amount - intent.refunded;
    let amount = match field("amount").map(|a| a.parse::<i64>()) {
        None => left,
        Some(Ok(amount)) if amount >= 1 => amount,
        _ => {
            return invalid(
                "amount",
                "parameter_invalid_integer",
                "Invalid positive integer: amount",
            );
        }
    };
    if left == 0 {
        return invalid(
            "charge",
            "charge_already_refunded",
            "Charge has already been refunded.",
        );
    }
    if amount > left {
        return invalid(
            "amount",
            "amount_too_large",
            "Refund amount is greater than unrefunded amount on charge.",
        );
    }
    let status = match fault {
        Some(Fault::RefundStatus(status)) => status,
        _ => "succeeded",
    };
    let id = ledger.id("re");
    if matches!(status, "succeeded" | "pending") {
        if let Some(intent) = ledger.intents.get_mut(&intent_id) {
            intent.refunded += amount;
        }
        ledger.refunds.push(Refund {
            id: id.clone(),
            payment_intent: intent_id.clone(),
            amount,
            status: status.to_owned(),
            idempotency_key: key.map(str::to_owned),
        });
    }
    (
        StatusCode::OK,
        json!({ "id": id, "object": "refund", "amount": amount, "payment_intent": intent_id,
                "status": status, "metadata": { "paylater_idempotency_key": field("metadata[paylater_idempotency_key]") } }),
    )
}

fn answer((status, body): (StatusCode, Value)) -> Response {
    (status, Json(body)).into_response()
}

/// Drops the request's connection without an answer.
fn cut(connection: &Connection) -> Response {
    connection.cut.store(true, Ordering::SeqCst);
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _busy = Counted::new(&shared.busy);
    let path = uri.path().to_owned();
    let raw = if method == Method::GET {
        uri.query().unwrap_or_default().as_bytes().to_vec()
    } else {
        body.to_vec()
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&raw).unwrap_or_default();
    let request = Request {
        method: method.to_string(),
        path: path.clone(),
        form: form.clone(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    let key = request.idempotency_key().map(str::to_owned);
    let authorized = request.header("authorization") == Some(&format!("Bearer {SECRET_KEY}"));
    let latency = {
        let mut ledger = shared.ledger();
        ledger.requests.push(request);
        ledger.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut held = shared.held.subscribe();
    if held.borrow().iter().any(|pattern| matches(pattern, &path)) {
        let _waiting = Counted::new(&shared.waiting);
        let _ = held
            .wait_for(|held| !held.iter().any(|pattern| matches(pattern, &path)))
            .await;
    }

    let door = shared.ledger().take_fault(&path, true);
    match door {
        Some(Fault::DropBeforeEffect) => return cut(&connection),
        Some(Fault::ServerError) => {
            return answer(stripe_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "type": "api_error", "message": "An unknown error occurred." }),
            ));
        }
        Some(Fault::RateLimited) => {
            return answer(stripe_error(
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests." }),
            ));
        }
        Some(Fault::Conflict) => {
            return answer(stripe_error(
                StatusCode::CONFLICT,
                json!({ "type": "invalid_request_error", "code": "idempotency_key_in_use",
                        "message": "There is currently another in-progress request using this Idempotent Key." }),
            ));
        }
        Some(Fault::Error { status, kind, code }) => {
            return answer(stripe_error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                json!({ "type": kind, "code": code, "message": "Scripted error." }),
            ));
        }
        _ => {}
    }
    if !authorized {
        return answer(stripe_error(
            StatusCode::UNAUTHORIZED,
            json!({ "type": "invalid_request_error", "message": "Invalid API Key provided." }),
        ));
    }

    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = form.clone();
    params.sort();
    let idempotent = method == Method::POST;
    let mut ledger = shared.ledger();
    if let Some(key) = key.as_deref().filter(|_| idempotent)
        && let Some(saved) = ledger.saved.get(key)
    {
        let same = saved.method == method.as_str() && saved.path == path && saved.params == params;
        return answer(if same {
            (saved.status, saved.body.clone())
        } else {
            stripe_error(
                StatusCode::BAD_REQUEST,
                json!({ "type": "idempotency_error",
                        "message": format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.") }),
            )
        });
    }
    let fault = ledger.take_fault(&path, false);
    let (status, body) = execute(
        &mut ledger,
        &method,
        &segments,
        &form,
        key.as_deref(),
        fault,
    );
    if let Some(key) = key.as_deref().filter(|_| idempotent)
        && (status.is_success() || status == StatusCode::PAYMENT_REQUIRED)
    {
        ledger.saved.insert(
            key.to_owned(),
            Saved {
                method: method.to_string(),
                path: path.clone(),
                params,
                status,
                body: body.clone(),
            },
        );
    }
    drop(ledger);
    if fault == Some(Fault::DropAfterEffect) {
        return cut(&connection);
    }
    answer((status, body))
}

/// The listener of the fake: its connections can be cut from a handler.
struct Cuttable(TcpListener);

/// A connection whose reads and writes fail once it is cut, so the server drops it without
/// writing the answer.
struct CuttableStream {
    inner: TcpStream,
    cut: Arc<AtomicBool>,
}

/// The handle of a request's connection, for cutting it.
#[derive(Clone)]
struct Connection {
    cut: Arc<AtomicBool>,
}

impl Connected<IncomingStream<'_, Cuttable>> for Connection {
    fn connect_info(stream: IncomingStream<'_, Cuttable>) -> Self {
        Self {
            cut: stream.io().cut.clone(),
        }
    }
}

impl Listener for Cuttable {
    type Io = CuttableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, address)) => {
                    let _ = inner.set_nodelay(true);
                    let cut = Arc::new(AtomicBool::new(false));
                    return (CuttableStream { inner, cut }, address);
                }
                // A connection that failed before it was accepted; wait for the next.
                Err(_) => tokio::task::yield_now().await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl CuttableStream {
    fn check(&self) -> io::Result<()> {
        if self.cut.load(Ordering::SeqCst) {
            Err(io::ErrorKind::ConnectionAborted.into())
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
