//! The named scenarios: each a real GraphQL operation as a client of the API sends it,
//! over fixtures (API keys, logged-in shoppers, checkout tokens) made before measuring.

use std::sync::{
    Arc,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};

use anyhow::Context as _;
use hyper::{Method, body::Bytes, header::HeaderValue};
use paylater::{
    ids::{NodeKind, encode},
    synthetic::{self, Population},
};
use rand::{Rng as _, rngs::StdRng, seq::IndexedRandom as _};
use serde_json::{Value, json};

use crate::load::{Answer, LoadRequest, SetupClient, Workload};

/// A benchmark scenario, selected by name with `--scenarios`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The machine's ceiling: a bare axum handler answering a fixed body, in a server
    /// process of its own. Runs first whenever any scenario runs.
    Floor,
    /// `GET /healthz` through paylater's whole HTTP stack, no GraphQL.
    Healthz,
    /// (a) The checkout app reads a checkout by token, with items and plans.
    Checkout,
    /// (b) A merchant's page of 20 orders with items, instalments and customer.
    Orders,
    /// (c) A shopper's account with orders and upcoming instalments.
    Me,
    /// (d) Public plan schedules for a product page.
    Plans,
    /// (e) A merchant creates a checkout.
    Create,
    /// (f) A shopper confirms a fresh checkout: an order, its schedule and a charge.
    Confirm,
    /// (g) 40% checkout, 25% orders, 15% me, 10% plans, 7% create, 3% confirm.
    Mixed,
    /// Page 1 against page 1 000 of one merchant's orders (its own population).
    Keyset,
}

impl Scenario {
    /// The name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Floor => "floor (bare axum)",
            Self::Healthz => "healthz",
            Self::Checkout => "(a) checkout(token)",
            Self::Orders => "(b) merchant orders(first: 20)",
            Self::Me => "(c) me + orders + upcoming",
            Self::Plans => "(d) installmentPlans",
            Self::Create => "(e) createCheckout",
            Self::Confirm => "(f) confirmCheckout",
            Self::Mixed => "(g) mixed",
            Self::Keyset => "keyset",
        }
    }

    /// Fresh open checkouts one request of the scenario uses up, on average.
    pub fn checkouts_per_request(self) -> f64 {
        match self {
            Self::Confirm => 1.0,
            Self::Mixed => MIX
                .iter()
                .filter(|(scenario, _)| *scenario == Self::Confirm)
                .map(|(_, percent)| f64::from(*percent) / 100.0)
                .sum(),
            _ => 0.0,
        }
    }
}

/// The mixed workload's shares, in percent.
const MIX: [(Scenario, u32); 6] = [
    (Scenario::Checkout, 40),
    (Scenario::Orders, 25),
    (Scenario::Me, 15),
    (Scenario::Plans, 10),
    (Scenario::Create, 7),
    (Scenario::Confirm, 3),
];

const CHECKOUT: &str = "query Checkout($token: String!) { checkout(token: $token) { id status \
    expiresAt merchant { name logoUrl } items { name sku quantity unitPrice { amount currencyCode } \
    totalPrice { amount } imageUrl } subtotal { amount } total { amount currencyCode minorUnits } \
    availablePlans { plan name installmentCount total { amount } installments { sequence dueDate \
    amount { amount } } } } }";

/// The query the load generator sends the floor: a POST of a small JSON body, as a
/// GraphQL client sends one (the floor does not read it, only receives it).
const FLOOR: &str = "query Floor { floor { plan installmentCount total { amount } } }";

/// A request of the floor scenario.
pub fn floor_request() -> LoadRequest {
    graphql(FLOOR, json!({}), None)
}

/// The fields of an order in merchant pages (also the keyset scenario's).
pub const ORDERS_PAGE: &str = "query Orders($after: String) { merchant { orders(first: 20, \
    after: $after) { nodes { id status merchantReference total { amount currencyCode } createdAt \
    items { name quantity unitPrice { amount } } installments { sequence dueDate status \
    amount { amount } } customer { email } } pageInfo { endCursor hasNextPage } } } }";

const ME: &str = "query Me { me { email givenName orders(first: 10) { nodes { id status \
    total { amount currencyCode } createdAt installments { sequence dueDate status \
    amount { amount } } } } upcomingInstallments { orderId sequence dueDate amount { amount } } } }";

const PLANS: &str = "query Plans($amount: MoneyInput!, $merchantId: ID!) { \
    installmentPlans(amount: $amount, merchantId: $merchantId) { plan name installmentCount \
    total { amount } installments { sequence dueDate amount { amount } } } }";

const CREATE: &str = "mutation Create($input: CreateCheckoutInput!) { createCheckout(input: $input) { \
    checkoutToken checkoutUrl checkout { id status total { amount } availablePlans { plan \
    installments { sequence dueDate amount { amount } } } } userErrors { field code message } } }";

const CONFIRM: &str = "mutation Confirm($input: ConfirmCheckoutInput!) { confirmCheckout(input: $input) { \
    order { id status total { amount } installments { sequence dueDate amount { amount } status } } \
    redirectUrl userErrors { field code message } } }";

const LOGIN: &str = "mutation Login($input: LoginInput!) { login(input: $input) { \
    session { accessToken } userErrors { code message } } }";

/// Prices of the product-page widget and of created checkouts, in cents.
const PRICES: [i64; 6] = [3_900, 4_900, 12_900, 18_500, 24_900, 34_900];

/// A merchant as the benchmark calls it.
pub struct MerchantAuth {
    /// `Bearer sk_test_…`.
    pub authorization: HeaderValue,
    /// Its global ID, for `installmentPlans`.
    pub global_id: String,
}

/// A logged-in shopper.
struct Shopper {
    authorization: HeaderValue,
    card_id: String,
}

/// What the scenarios need, made once per population.
pub struct Fixtures {
    merchants: Vec<MerchantAuth>,
    shoppers: Vec<Shopper>,
    read_tokens: Vec<String>,
    confirm_tokens: Vec<String>,
    confirmed: AtomicUsize,
    sequence: AtomicU64,
}

impl Fixtures {
    /// Logs `shoppers` consumers in and splits the open checkouts: `read_tokens` of them
    /// are read, the rest confirmed once each.
    pub async fn prepare(
        population: &Population,
        client: &mut SetupClient,
        shoppers: usize,
        read_tokens: usize,
    ) -> anyhow::Result<Self> {
        let merchants = merchant_auths(population)?;
        let mut logged_in = Vec::with_capacity(shoppers);
        for consumer in population.consumers.iter().take(shoppers) {
            let variables = json!({ "input": {
                "email": consumer.email, "password": synthetic::CONSUMER_PASSWORD } });
            let data = client.query(graphql(LOGIN, variables, None)).await?;
            let token = data["login"]["session"]["accessToken"]
                .as_str()
                .context("login answered no access token")?;
            logged_in.push(Shopper {
                authorization: bearer(token)?,
                card_id: encode(NodeKind::PaymentMethod, consumer.card_id),
            });
        }
        let read = read_tokens.min(population.checkout_tokens.len());
        let (read_tokens, confirm_tokens) = population.checkout_tokens.split_at(read);
        anyhow::ensure!(
            !read_tokens.is_empty(),
            "the population has no open checkouts"
        );
        Ok(Self {
            merchants,
            shoppers: logged_in,
            read_tokens: read_tokens.to_vec(),
            confirm_tokens: confirm_tokens.to_vec(),
            confirmed: AtomicUsize::new(0),
            sequence: AtomicU64::new(0),
        })
    }

    /// Fresh checkouts not confirmed yet.
    pub fn checkouts_left(&self) -> usize {
        self.confirm_tokens
            .len()
            .saturating_sub(self.confirmed.load(Ordering::Relaxed))
    }

    /// The next request of `scenario`; `None` once fresh checkouts are used up.
    fn request(&self, scenario: Scenario, rng: &mut StdRng) -> Option<LoadRequest> {
        let merchant = self.merchants.choose(rng)?;
        match scenario {
            // The floor runs against its own server (see `floor`); the request is the same.
            Scenario::Floor => Some(floor_request()),
            Scenario::Healthz => Some(LoadRequest {
                method: Method::GET,
                path: "/healthz",
                body: Bytes::new(),
                authorization: None,
                read: true,
                answer: Answer::Json,
            }),
            Scenario::Checkout => {
                let token = self.read_tokens.choose(rng)?;
                Some(graphql(CHECKOUT, json!({ "token": token }), None))
            }
            // Keyset runs go through `keyset::PageLoad`; on this population it is page 1.
            Scenario::Orders | Scenario::Keyset => Some(graphql(
                ORDERS_PAGE,
                json!({}),
                Some(merchant.authorization.clone()),
            )),
            Scenario::Me => {
                let shopper = self.shoppers.choose(rng)?;
                Some(graphql(ME, json!({}), Some(shopper.authorization.clone())))
            }
            Scenario::Plans => {
                let price = PRICES.choose(rng)?;
                let variables = json!({
                    "amount": euros(*price), "merchantId": merchant.global_id });
                Some(graphql(PLANS, variables, None))
            }
            Scenario::Create => {
                let n = self.sequence.fetch_add(1, Ordering::Relaxed);
                Some(graphql(
                    CREATE,
                    json!({ "input": checkout_input(n, rng) }),
                    Some(merchant.authorization.clone()),
                ))
            }
            Scenario::Confirm => {
                let token = self
                    .confirm_tokens
                    .get(self.confirmed.fetch_add(1, Ordering::Relaxed))?;
                let shopper = self.shoppers.choose(rng)?;
                let n = self.sequence.fetch_add(1, Ordering::Relaxed);
                let variables = json!({ "input": {
                    "token": token, "plan": "PAY_IN_3", "paymentMethodId": shopper.card_id,
                    "idempotencyKey": format!("bench-confirm-{n}") } });
                Some(graphql(
                    CONFIRM,
                    variables,
                    Some(shopper.authorization.clone()),
                ))
            }
            Scenario::Mixed => {
                let mut roll = rng.random_range(0..100);
                let picked = MIX
                    .iter()
                    .find(|(_, percent)| {
                        let hit = roll < *percent;
                        roll = roll.saturating_sub(*percent);
                        hit
                    })
                    .map_or(Scenario::Checkout, |(scenario, _)| *scenario);
                self.request(picked, rng)
            }
        }
    }
}

/// One scenario over shared fixtures, as a [`Workload`].
pub struct ScenarioLoad {
    /// Which requests to make.
    pub scenario: Scenario,
    /// What they are made from.
    pub fixtures: Arc<Fixtures>,
}

impl Workload for ScenarioLoad {
    fn next(&self, rng: &mut StdRng) -> Option<LoadRequest> {
        self.fixtures.request(self.scenario, rng)
    }
}

/// Each synthetic merchant's `Authorization` and global ID.
pub fn merchant_auths(population: &Population) -> anyhow::Result<Vec<MerchantAuth>> {
    population
        .merchants
        .iter()
        .map(|merchant| {
            Ok(MerchantAuth {
                authorization: bearer(&merchant.api_key)?,
                global_id: encode(NodeKind::Merchant, merchant.id),
            })
        })
        .collect()
}

/// A GraphQL POST with its credentials.
pub fn graphql(query: &str, variables: Value, authorization: Option<HeaderValue>) -> LoadRequest {
    LoadRequest {
        method: Method::POST,
        path: "/graphql",
        body: Bytes::from(json!({ "query": query, "variables": variables }).to_string()),
        authorization,
        read: !query.trim_start().starts_with("mutation"),
        answer: Answer::Graphql,
    }
}

fn bearer(secret: &str) -> anyhow::Result<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {secret}")).context("a credential is not a header value")
}

/// `MoneyInput` of `cents` euro cents.
fn euros(cents: i64) -> Value {
    json!({ "amount": format!("{}.{:02}", cents / 100, cents % 100), "currencyCode": "EUR" })
}

/// A `CreateCheckoutInput` as a shop sends it, unique by `n`.
fn checkout_input(n: u64, rng: &mut StdRng) -> Value {
    let lines = rng.random_range(1..=3);
    let prices: Vec<i64> = PRICES.choose_multiple(rng, lines).copied().collect();
    let items: Vec<Value> = prices
        .iter()
        .map(|price| {
            json!({ "name": format!("Product {price}"), "sku": format!("SKU-{price}"),
                "quantity": 1, "unitPrice": euros(*price),
                "imageUrl": format!("https://cdn.example.com/{price}.jpg") })
        })
        .collect();
    let shipping = 490;
    json!({
        "items": items,
        "shipping": euros(shipping),
        "total": euros(prices.iter().sum::<i64>() + shipping),
        "merchantReference": format!("bench-{n}"),
        "idempotencyKey": format!("bench-create-{n}"),
        "shopper": { "email": format!("shopper{}@example.com", n % 1000) },
        "shippingAddress": { "line1": "Via Roma 1", "city": "Milano", "postalCode": "20121",
            "countryCode": "IT" },
        "confirmUrl": "https://shop.example.com/thanks",
        "cancelUrl": "https://shop.example.com/cart",
    })
}
