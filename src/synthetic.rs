//! Synthetic data at volume: merchants, consumers with cards, and a year of their orders
//! with items, instalments and payments, written in bulk. The benchmark measures against
//! it and the index checks explain queries over it; rows are built by the same functions
//! the services use, so they read back exactly like real ones.

use chrono::{DateTime, Duration, Utc};
use entity::{audit_log, checkout, checkout_item, consumer, installment, order, payment, plan};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    prelude::ChronoUnixTimestampMillis,
};
use serde_json::json;
use uuid::Uuid;

use crate::service::OrInternal;
use crate::{
    auth::{api_key::NewApiKey, password, secret::random_secret},
    domain::event::EventType,
    domain::{
        Currency, Money,
        checkout::{
            Address, AmountInput, CheckoutRequest, CheckoutStatus, ItemRequest, ShopperHints,
            validate,
        },
        order::{InstallmentStatus, OrderStatus},
        plan::PlanCode,
        schedule::build_schedule,
    },
    payments::sandbox,
    service::unit_of_work::UnitOfWork,
    service::{
        Deps, ServiceError, ServiceResult,
        audit::{self, Actor},
        checkouts,
        consumers::{self, ConsumerAccount},
        merchants,
        orders::{
            confirm::{authorized_order, schedule_rows},
            payment_row,
        },
        payment_methods,
    },
};

/// The password of every synthetic consumer.
pub const CONSUMER_PASSWORD: &str = "synthetic-shopper-password";

/// How much to make.
#[derive(Debug, Clone, Copy)]
pub struct Volume {
    /// Merchants, each with every plan enabled and an API key.
    pub merchants: usize,
    /// Consumers, each with a card and a spending limit no order reaches.
    pub consumers: usize,
    /// Orders, spread evenly over the merchants and over the past year.
    pub orders: usize,
    /// Open checkouts whose tokens are returned, spread over the merchants.
    pub open_checkouts: usize,
    /// Seeds the choices, so two runs make the same shapes.
    pub seed: u64,
}

/// A synthetic merchant.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// Row id.
    pub id: Uuid,
    /// Its API key's secret.
    pub api_key: String,
}

/// A synthetic consumer; the password is [`CONSUMER_PASSWORD`].
#[derive(Debug, Clone)]
pub struct Consumer {
    /// Row id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Their card's row id.
    pub card_id: Uuid,
}

/// What [`populate`] made.
#[derive(Debug, Clone)]
pub struct Population {
    /// The merchants.
    pub merchants: Vec<Merchant>,
    /// The consumers.
    pub consumers: Vec<Consumer>,
    /// Tokens of open checkouts, for shoppers to read and confirm.
    pub checkout_tokens: Vec<String>,
}

/// Orders written per transaction: small enough for every backend's placeholder limit.
const BATCH: usize = 200;
/// Consumer limits high enough that no synthetic confirmation is refused for credit.
const SPENDING_LIMIT_MINOR: i64 = 100_000_000;

const PRODUCTS: [(&str, &str, i64); 8] = [
    ("Linen shirt", "apparel", 4_900),
    ("Trail running shoes", "footwear", 12_900),
    ("Wool coat", "apparel", 24_900),
    ("Leather weekend bag", "accessories", 18_500),
    ("Espresso machine", "home", 34_900),
    ("Noise-cancelling headphones", "electronics", 27_900),
    ("Desk lamp", "home", 6_500),
    ("Silk scarf", "accessories", 3_900),
];
const GIVEN_NAMES: [&str; 6] = ["Ada", "Grace", "Luca", "Sofia", "Marco", "Elena"];
const FAMILY_NAMES: [&str; 6] = ["Rossi", "Bianchi", "Lovelace", "Hopper", "Conti", "Ricci"];
const CITIES: [(&str, &str); 4] = [
    ("Milano", "20121"),
    ("Roma", "00184"),
    ("Torino", "10121"),
    ("Bologna", "40121"),
];

/// Writes `volume` worth of data; `progress` hears how many orders are written so far.
pub async fn populate(
    deps: &Deps,
    volume: Volume,
    progress: impl Fn(usize),
) -> ServiceResult<Population> {
    let mut rng = StdRng::seed_from_u64(volume.seed);
    let mut merchants = Vec::with_capacity(volume.merchants);
    for i in 0..volume.merchants.max(1) {
        let key = NewApiKey::generate(false);
        let secret = key.secret.clone();
        let created =
            merchants::create(deps, &format!("Synthetic Shop {}", i + 1), None, key).await?;
        merchants.push(Merchant {
            id: created.merchant.id,
            api_key: secret,
        });
    }
    let consumers = make_consumers(deps, volume.consumers.max(1), &mut rng).await?;
    let plans = plan_ids(deps).await?;
    let now = deps.clock.now();
    let mut written = 0;
    while written < volume.orders {
        let count = BATCH.min(volume.orders - written);
        let orders = (0..count).map(|n| {
            let merchant = &merchants[(written + n) % merchants.len()];
            let shopper = consumers.choose(&mut rng).unwrap_or(&consumers[0]);
            let age = Duration::milliseconds(rng.random_range(0..365 * 24 * 3_600_000));
            past_order(deps, merchant, shopper, &plans, now - age, now, &mut rng)
        });
        write_orders(deps, orders.collect::<ServiceResult<Vec<_>>>()?).await?;
        written += count;
        progress(written);
    }
    let mut checkout_tokens = Vec::with_capacity(volume.open_checkouts);
    while checkout_tokens.len() < volume.open_checkouts {
        let count = BATCH.min(volume.open_checkouts - checkout_tokens.len());
        let mut rows = Vec::with_capacity(count);
        let mut items = Vec::new();
        for _ in 0..count {
            let token = random_secret("ct_");
            let merchant = &merchants[checkout_tokens.len() % merchants.len()];
            let (row, row_items) = checkout_rows(deps, merchant, &token, now, &mut rng)?;
            rows.push(row);
            items.extend(row_items);
            checkout_tokens.push(token);
        }
        let work = UnitOfWork::begin(deps).await?;
        insert_checkouts(work.txn(), rows, items).await?;
        work.commit().await?;
    }
    Ok(Population {
        merchants,
        consumers,
        checkout_tokens,
    })
}

async fn make_consumers(
    deps: &Deps,
    count: usize,
    rng: &mut StdRng,
) -> ServiceResult<Vec<Consumer>> {
    // One hash serves every account: hashing is deliberately slow.
    let password_hash = password::hash(CONSUMER_PASSWORD)
        .await
        .or_internal(|| "password hash")?;
    let now = deps.clock.now();
    let accounts: Vec<ConsumerAccount> = (0..count)
        .map(|i| ConsumerAccount {
            id: Uuid::now_v7(),
            email: format!("shopper{i}@synthetic.paylater.test"),
            given_name: GIVEN_NAMES.choose(rng).map(|n| (*n).to_owned()),
            family_name: FAMILY_NAMES.choose(rng).map(|n| (*n).to_owned()),
            phone: Some(format!("+39333{:07}", i % 10_000_000)),
            created_at: now - Duration::days(400),
            mfa_enabled: false,
            spending_limit_minor: SPENDING_LIMIT_MINOR,
            currency: Currency::Eur,
            active: true,
        })
        .collect();
    for chunk in accounts.chunks(BATCH) {
        let rows = chunk
            .iter()
            .map(|a| consumers::new_row(&deps.vault, a, password_hash.clone()));
        insert_all::<consumer::Entity, _>(&deps.db, rows).await?;
    }
    let today = now.date_naive();
    let expiry_year = chrono::Datelike::year(&today) + 3;
    let mut made = Vec::with_capacity(count);
    for account in accounts {
        let card = sandbox::tokenize("4242424242424242", 12, expiry_year, "123", today)
            .or_internal(|| "sandbox card")?;
        let method = payment_methods::add(
            deps,
            &Actor::consumer(account.id, None),
            account.id,
            &card.token,
        )
        .await?;
        made.push(Consumer {
            id: account.id,
            email: account.email,
            card_id: method.id,
        });
    }
    Ok(made)
}

/// The ids of the EUR plans orders are placed on.
async fn plan_ids(deps: &Deps) -> ServiceResult<Vec<(PlanCode, Uuid)>> {
    let rows = plan::Entity::find()
        .filter(plan::Column::Currency.eq(Currency::Eur.code()))
        .all(&deps.db)
        .await?;
    [PlanCode::PayIn3, PlanCode::PayIn4]
        .into_iter()
        .map(|code| {
            rows.iter()
                .find(|row| row.code == code)
                .map(|row| (code, row.id))
                .ok_or_else(|| ServiceError::internal(format!("no EUR plan {}", code.as_str())))
        })
        .collect()
}

/// A checkout as a merchant would create it at `at`, validated like one.
fn checkout_rows(
    deps: &Deps,
    merchant: &Merchant,
    token: &str,
    at: DateTime<Utc>,
    rng: &mut StdRng,
) -> ServiceResult<(checkout::Model, Vec<checkout_item::Model>)> {
    let euros = |minor: i64| AmountInput {
        amount: Decimal::new(minor, 2),
        currency: Currency::Eur,
    };
    let lines = rng.random_range(1..=3);
    let items: Vec<ItemRequest> = PRODUCTS
        .choose_multiple(rng, lines)
        .map(|(name, category, price)| ItemRequest {
            name: (*name).to_owned(),
            sku: Some(format!("SKU-{price}")),
            quantity: 1,
            unit_price: Some(euros(*price)),
            image_url: Some(format!("https://cdn.example.com/{price}.jpg")),
            category: Some((*category).to_owned()),
        })
        .collect();
    let total: i64 = PRODUCTS
        .iter()
        .filter(|(name, ..)| items.iter().any(|i| i.name == *name))
        .map(|(.., price)| price)
        .sum();
    let (city, postal_code) = *CITIES.choose(rng).unwrap_or(&CITIES[0]);
    let request = CheckoutRequest {
        items,
        shipping: None,
        tax: None,
        discount: None,
        total: euros(total),
        merchant_reference: random_secret("ord_"),
        shopper: ShopperHints::default(),
        shipping_address: Some(Address {
            name: None,
            line1: "Via Roma 1".to_owned(),
            line2: None,
            city: city.to_owned(),
            postal_code: Some(postal_code.to_owned()),
            region: None,
            country_code: "IT".to_owned(),
        }),
        confirm_url: "https://shop.example.com/thanks".to_owned(),
        cancel_url: "https://shop.example.com/cart".to_owned(),
        expires_at: None,
    };
    let max_total = deps.max_checkout_total;
    let valid = validate(&request, at, deps.checkout_ttl, max_total).map_err(|violations| {
        ServiceError::internal(format!("synthetic checkout invalid: {violations:?}"))
    })?;
    Ok(checkouts::rows(deps, merchant.id, &valid, token, at))
}

/// The rows of one order placed at `at`, paid to date as of `now`, with the checkouts
/// its shopper abandoned or the merchant cancelled on the way.
struct PastOrder {
    checkouts: Vec<checkout::Model>,
    items: Vec<checkout_item::Model>,
    audit: audit_log::Model,
    order: order::Model,
    installments: Vec<installment::Model>,
    payments: Vec<payment::Model>,
}

fn past_order(
    deps: &Deps,
    merchant: &Merchant,
    shopper: &Consumer,
    plans: &[(PlanCode, Uuid)],
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> ServiceResult<PastOrder> {
    let (mut checkout, items) = checkout_rows(deps, merchant, &random_secret("ct_"), at, rng)?;
    let total = Money::new(checkout.total_minor, Currency::Eur);
    let (plan, plan_id) = if total.minor() >= 10_000 && rng.random_bool(0.5) {
        plans[1]
    } else {
        plans[0]
    };
    let stamp = ChronoUnixTimestampMillis(at);
    let mut checkouts = Vec::new();
    let mut all_items = Vec::new();
    // About a third of checkouts are abandoned and a few cancelled, as in real traffic.
    for (share, status) in [
        (0.3, CheckoutStatus::Expired),
        (0.05, CheckoutStatus::Cancelled),
    ] {
        if rng.random_bool(share) {
            let started = at - Duration::minutes(rng.random_range(10..600));
            let (mut row, items) =
                checkout_rows(deps, merchant, &random_secret("ct_"), started, rng)?;
            row.status = status;
            row.open_reference = None;
            if status == CheckoutStatus::Cancelled {
                row.cancellation_reason = Some("out of stock".to_owned());
                row.cancelled_at = Some(ChronoUnixTimestampMillis(started));
            }
            checkouts.push(row);
            all_items.extend(items);
        }
    }
    checkout.status = CheckoutStatus::Completed;
    checkout.open_reference = None;
    checkout.completed_at = Some(stamp);
    let schedule = build_schedule(total, plan, at.date_naive()).or_internal(|| "schedule")?;
    let mut order = authorized_order(
        deps,
        Uuid::now_v7(),
        &checkout,
        shopper.id,
        (plan_id, shopper.card_id),
        at,
    );
    let (mut installments, mut payments) =
        schedule_rows(&order, &schedule, Some("synthetic"), shopper.card_id, at);
    // Merchants capture within a day; instalments fall due and are collected since.
    if now - at > Duration::days(1) {
        order.status = OrderStatus::Captured;
        order.captured_minor = total.minor();
        order.captured_at = Some(ChronoUnixTimestampMillis(at + Duration::hours(6)));
        let today = now.date_naive();
        for row in installments.iter_mut() {
            if row.status == InstallmentStatus::Scheduled && row.due_date <= today {
                let paid_at = row.due_date.and_time(chrono::NaiveTime::MIN).and_utc();
                row.status = InstallmentStatus::Paid;
                row.paid_at = Some(ChronoUnixTimestampMillis(paid_at));
                row.attempt_count = 1;
                row.updated_at = ChronoUnixTimestampMillis(paid_at);
                payments.push(payment_row(&order, row, shopper.card_id, paid_at));
            }
        }
        if installments
            .iter()
            .all(|row| row.status == InstallmentStatus::Paid)
        {
            order.status = OrderStatus::Completed;
            order.completed_at = installments.last().and_then(|row| row.paid_at);
        }
        order.updated_at = installments
            .iter()
            .filter_map(|row| row.paid_at)
            .max_by_key(|paid_at| paid_at.0)
            .unwrap_or(stamp);
    }
    let audit = audit::entry(
        &Actor::consumer(shopper.id, None),
        EventType::OrderAuthorized.as_str(),
        Some(("order", order.id)),
        json!({ "plan": plan.as_str() }),
        at,
    );
    checkouts.push(checkout);
    all_items.extend(items);
    Ok(PastOrder {
        checkouts,
        items: all_items,
        audit,
        order,
        installments,
        payments,
    })
}

async fn write_orders(deps: &Deps, orders: Vec<PastOrder>) -> ServiceResult<()> {
    let mut checkouts = Vec::with_capacity(orders.len());
    let mut audits = Vec::with_capacity(orders.len());
    let mut items = Vec::new();
    let mut order_rows = Vec::with_capacity(orders.len());
    let mut installments = Vec::new();
    let mut payments = Vec::new();
    for past in orders {
        checkouts.extend(past.checkouts);
        audits.push(past.audit);
        items.extend(past.items);
        order_rows.push(past.order);
        installments.extend(past.installments);
        payments.extend(past.payments);
    }
    let work = UnitOfWork::begin(deps).await?;
    insert_checkouts(work.txn(), checkouts, items).await?;
    insert_all::<order::Entity, _>(work.txn(), order_rows).await?;
    insert_all::<installment::Entity, _>(work.txn(), installments).await?;
    insert_all::<payment::Entity, _>(work.txn(), payments).await?;
    insert_all::<audit_log::Entity, _>(work.txn(), audits).await?;
    work.commit().await?;
    Ok(())
}

async fn insert_checkouts(
    db: &impl ConnectionTrait,
    checkouts: Vec<checkout::Model>,
    items: Vec<checkout_item::Model>,
) -> ServiceResult<()> {
    insert_all::<checkout::Entity, _>(db, checkouts).await?;
    insert_all::<checkout_item::Entity, _>(db, items).await
}

/// Inserts `rows` in statements of at most [`BATCH`] rows.
async fn insert_all<E, M>(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = M>,
) -> ServiceResult<()>
where
    E: EntityTrait,
    M: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let rows: Vec<E::ActiveModel> = rows
        .into_iter()
        .map(IntoActiveModel::into_active_model)
        .collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(BATCH).collect();
        E::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}
