//! Checkouts: created by a merchant, read by whoever holds the token, listed and cancelled
//! by the merchant that owns them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{checkout, checkout_item};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
    prelude::ChronoUnixTimestampMillis,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Deps, OnUnique, OrInternal, ServiceError, ServiceResult,
    audit::Actor,
    checkout_pii,
    idempotency::{self, Request},
    merchants,
    outbox::Event,
    pagination::{Cursor, Keyset, Page, PageRequest},
    retry_transient,
};
use crate::{
    auth::secret::{hash_secret, random_secret},
    domain::checkout::{
        CheckoutRequest, CheckoutStatus, Path, ShopperData, ValidCheckout, Violation,
        ViolationCode, validate,
    },
    domain::event::EventType,
    encryption::column_context,
    service::unit_of_work::UnitOfWork,
};

/// The longest cancellation reason kept.
pub const MAX_REASON_LEN: usize = 500;

/// A checkout just created, with its token (the only time the token is known: only its
/// hash is stored).
#[derive(Debug, Clone)]
pub struct CreatedCheckout {
    /// The stored checkout.
    pub checkout: checkout::Model,
    /// The bearer token that opens it in the checkout app.
    pub token: String,
    /// The checkout app's URL for this checkout.
    pub url: String,
}

/// Which checkouts a merchant lists.
#[derive(Debug, Clone, Default)]
pub struct CheckoutFilter {
    /// Only checkouts in this status, as read now (expired open ones count as expired).
    pub status: Option<CheckoutStatus>,
    /// Only checkouts created at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Only checkouts created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Only checkouts with this merchant reference.
    pub merchant_reference: Option<String>,
}

/// The indexed orders a checkout list can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckoutSortKey {
    /// By creation time.
    #[default]
    CreatedAt,
    /// By expiry time.
    ExpiresAt,
}

impl CheckoutSortKey {
    fn column(self) -> checkout::Column {
        match self {
            Self::CreatedAt => checkout::Column::CreatedAt,
            Self::ExpiresAt => checkout::Column::ExpiresAt,
        }
    }

    /// The cursor of a row in this order.
    pub fn cursor(self, row: &checkout::Model) -> Cursor {
        let at = match self {
            Self::CreatedAt => row.created_at,
            Self::ExpiresAt => row.expires_at,
        };
        Cursor {
            value: at.0.timestamp_millis(),
            id: row.id,
        }
    }
}

/// What an idempotent creation keeps as its outcome: the checkout, and its token sealed
/// (the token is a bearer secret; only its hash is stored with the checkout).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Creation {
    checkout_id: Uuid,
    sealed_token: String,
}

/// Binds a sealed token to its checkout.
fn token_context(checkout_id: Uuid) -> String {
    column_context("idempotency_keys", "response", checkout_id)
}

/// Creates a checkout for `merchant_id`: validates everything first, then stores the
/// checkout and its items in one transaction. On any violation nothing is stored. With an
/// idempotency key, a retry of the same request returns the same checkout and token.
pub async fn create(
    deps: &Deps,
    merchant_id: Uuid,
    request: &CheckoutRequest,
    idempotency_key: Option<&str>,
) -> ServiceResult<CreatedCheckout> {
    let Some(key) = idempotency_key else {
        return create_once(deps, merchant_id, request, None).await;
    };
    let idempotent = Request {
        principal: format!("merchant:{merchant_id}"),
        operation: "createCheckout",
        key,
        // The request's full debug form: every field, in a fixed order.
        input_hash: idempotency::digest(&[&format!("{request:?}")]),
    };
    let mut fresh = None;
    let slot = &mut fresh;
    let creation: Creation = idempotency::run(deps, &idempotent, |key_id| async move {
        let created = create_once(deps, merchant_id, request, Some(key_id)).await?;
        let creation = Creation {
            checkout_id: created.checkout.id,
            sealed_token: String::new(),
        };
        *slot = Some(created);
        Ok(creation)
    })
    .await?;
    if let Some(created) = fresh {
        return Ok(created);
    }
    // A replay: the same checkout and token as the first time.
    let token = deps
        .vault
        .decrypt(&creation.sealed_token, &token_context(creation.checkout_id))
        .or_internal(|| "stored checkout token")?;
    Ok(CreatedCheckout {
        url: deps.checkout_url(&token),
        checkout: get(&deps.db, merchant_id, creation.checkout_id).await?,
        token,
    })
}

async fn create_once(
    deps: &Deps,
    merchant_id: Uuid,
    request: &CheckoutRequest,
    key_id: Option<Uuid>,
) -> ServiceResult<CreatedCheckout> {
    let now = deps.clock.now();
    let merchant = merchants::by_ids(&deps.db, &deps.caches, &[merchant_id])
        .await?
        .remove(&merchant_id)
        .ok_or(ServiceError::NotFound)?;
    let max_total = merchants::max_checkout_total(deps, &merchant);
    let valid =
        validate(request, now, deps.checkout_ttl, max_total).map_err(ServiceError::Rejected)?;
    let token = random_secret("ct_");
    let (checkout, items) = rows(deps, merchant_id, &valid, &token, now);
    let outcome = key_id.map(|key_id| {
        (
            key_id,
            Creation {
                checkout_id: checkout.id,
                sealed_token: deps.vault.encrypt(&token, &token_context(checkout.id)),
            },
        )
    });

    // A deadlock between concurrent creations (MySQL gap locks) is retried; the retry then
    // sees the winner's row and reports the duplicate reference.
    retry_transient(|| store(deps, merchant_id, &checkout, &items, now, outcome.as_ref())).await?;
    Ok(CreatedCheckout {
        url: deps.checkout_url(&token),
        checkout,
        token,
    })
}

/// Stores a checkout and its items in one transaction.
async fn store(
    deps: &Deps,
    merchant_id: Uuid,
    checkout: &checkout::Model,
    items: &[checkout_item::Model],
    now: DateTime<Utc>,
    outcome: Option<&(Uuid, Creation)>,
) -> ServiceResult<()> {
    let mut work = UnitOfWork::begin(deps).await?;
    release_expired_reference(&mut work, merchant_id, &checkout.merchant_reference, now).await?;
    checkout::Entity::insert(checkout.clone().into_active_model())
        .exec_without_returning(work.txn())
        .await
        .on_unique("open_reference", || {
            ServiceError::refused(
                "merchantReference",
                ViolationCode::DuplicateMerchantReference,
                "an open checkout already uses this merchant reference",
            )
        })?;
    checkout_item::Entity::insert_many(
        items
            .iter()
            .cloned()
            .map(IntoActiveModel::into_active_model),
    )
    .exec_without_returning(work.txn())
    .await?;
    if let Some((key_id, creation)) = outcome {
        idempotency::finish(work.txn(), *key_id, &Ok::<_, Vec<Violation>>(creation)).await?;
    }
    work.commit().await?;
    Ok(())
}

/// The rows that store a validated checkout.
pub(crate) fn rows(
    deps: &Deps,
    merchant_id: Uuid,
    valid: &ValidCheckout,
    token: &str,
    now: DateTime<Utc>,
) -> (checkout::Model, Vec<checkout_item::Model>) {
    let id = Uuid::now_v7();
    let mut checkout = checkout::Model {
        id,
        merchant_id,
        token_hash: hash_secret(token),
        status: CheckoutStatus::Open,
        currency: valid.currency,
        shipping_minor: valid.shipping.minor(),
        tax_minor: valid.tax.minor(),
        discount_minor: valid.discount.minor(),
        total_minor: valid.total.minor(),
        merchant_reference: valid.merchant_reference.clone(),
        open_reference: Some(valid.merchant_reference.clone()),
        // Sealed below, once the row has its id.
        shopper_email: None,
        shopper_given_name: None,
        shopper_family_name: None,
        shopper_phone: None,
        shipping_name: None,
        shipping_line1: None,
        shipping_line2: None,
        shipping_city: None,
        shipping_postal_code: None,
        shipping_region: None,
        shipping_country_code: None,
        confirm_url: valid.confirm_url.clone(),
        cancel_url: valid.cancel_url.clone(),
        cancellation_reason: None,
        expires_at: ChronoUnixTimestampMillis(valid.expires_at),
        created_at: ChronoUnixTimestampMillis(now),
        updated_at: ChronoUnixTimestampMillis(now),
        cancelled_at: None,
        completed_at: None,
    };
    checkout_pii::seal(
        &deps.vault,
        &mut checkout,
        &ShopperData {
            shopper: valid.shopper.clone(),
            shipping_address: valid.shipping_address.clone(),
        },
    );
    let items = valid
        .items
        .iter()
        .zip(0..)
        .map(|(item, position)| checkout_item::Model {
            id: Uuid::now_v7(),
            checkout_id: id,
            position,
            name: item.name.clone(),
            sku: item.sku.clone(),
            quantity: i32::try_from(item.quantity).unwrap_or(i32::MAX),
            unit_price_minor: item.unit_price.minor(),
            image_url: item.image_url.clone(),
            category: item.category.clone(),
        })
        .collect();
    (checkout, items)
}

/// A checkout that expired while open still holds its merchant reference; mark it expired
/// so the reference can be used again.
async fn release_expired_reference(
    work: &mut UnitOfWork<'_>,
    merchant_id: Uuid,
    reference: &str,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    use checkout::Column;
    // A plain read first: an UPDATE that matches nothing would still take gap locks on
    // MySQL, which deadlock concurrent creations.
    let held = checkout::Entity::find()
        .filter(Column::MerchantId.eq(merchant_id))
        .filter(Column::OpenReference.eq(reference))
        .filter(Column::ExpiresAt.lte(now.timestamp_millis()))
        .one(work.txn())
        .await?;
    if let Some(held) = held {
        let id = held.id;
        work.publish(
            Event::checkout(EventType::CheckoutExpired, &held, Value::Null),
            now,
        );
        checkout::Entity::update_many()
            .col_expr(Column::Status, Expr::value(CheckoutStatus::Expired))
            .col_expr(Column::OpenReference, Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAt, Expr::value(now.timestamp_millis()))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(CheckoutStatus::Open))
            .exec(work.txn())
            .await?;
    }
    Ok(())
}

/// The checkout a token opens, whoever asks; `NotFound` for an unknown token.
pub async fn by_token(db: &DatabaseConnection, token: &str) -> ServiceResult<checkout::Model> {
    checkout::Entity::find()
        .filter(checkout::Column::TokenHash.eq(hash_secret(token)))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Stores `EXPIRED` on up to `limit` open checkouts whose expiry has passed, releases their
/// merchant references, and announces each change. Returns the ids it expired. Several
/// instances may run it at once: on MySQL each claims different rows (`SKIP LOCKED`).
pub async fn expire_due(deps: &Deps, now: DateTime<Utc>, limit: u64) -> ServiceResult<Vec<Uuid>> {
    use checkout::Column;
    let open = CheckoutStatus::Open.as_str();
    let mut work = UnitOfWork::begin(deps).await?;
    let claimed = checkout::Entity::find()
        .filter(Column::Status.eq(open))
        .filter(Column::ExpiresAt.lte(now.timestamp_millis()))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(work.txn())
        .await?;
    let ids: Vec<Uuid> = claimed.iter().map(|row| row.id).collect();
    for row in &claimed {
        work.publish(
            Event::checkout(EventType::CheckoutExpired, row, Value::Null),
            now,
        );
    }
    if !ids.is_empty() {
        checkout::Entity::update_many()
            .col_expr(Column::Status, Expr::value(CheckoutStatus::Expired))
            .col_expr(Column::OpenReference, Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAt, Expr::value(now.timestamp_millis()))
            .filter(Column::Id.is_in(ids.iter().copied()))
            .filter(Column::Status.eq(open))
            .exec(work.txn())
            .await?;
    }
    work.commit().await?;
    Ok(ids)
}

/// A checkout of this merchant; another merchant's checkout is `NotFound`.
pub async fn get(
    db: &DatabaseConnection,
    merchant_id: Uuid,
    id: Uuid,
) -> ServiceResult<checkout::Model> {
    checkout::Entity::find_by_id(id)
        .filter(checkout::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Checkouts by id, in one statement.
pub async fn by_ids(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, checkout::Model>> {
    let rows = checkout::Entity::find()
        .filter(checkout::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// A checkout by id, whoever's it is: for callers already allowed to see it (staff, who
/// help every merchant and shopper; a subscription opened by the checkout's token).
pub async fn by_id(db: &DatabaseConnection, id: Uuid) -> ServiceResult<checkout::Model> {
    checkout::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Cancels an open checkout of this merchant, audited as `actor`'s. A checkout that is no
/// longer open, or has expired, is refused with a violation and left as it is.
pub async fn cancel(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    id: Uuid,
    reason: Option<&str>,
) -> ServiceResult<checkout::Model> {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if let Some(reason) = &reason
        && reason.chars().count() > MAX_REASON_LEN
    {
        return Err(rejected(
            "reason",
            ViolationCode::TooLong,
            "must be at most 500 characters",
        ));
    }
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let current = checkout::Entity::find_by_id(id)
        .filter(checkout::Column::MerchantId.eq(merchant_id))
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let status = current.status.effective(current.expires_at.0, now);
    match status {
        CheckoutStatus::Open => {}
        CheckoutStatus::Expired => {
            return Err(rejected(
                "id",
                ViolationCode::CheckoutExpired,
                "the checkout has expired",
            ));
        }
        CheckoutStatus::Confirming => {
            return Err(rejected(
                "id",
                ViolationCode::PaymentInProgress,
                "the shopper is paying for this checkout; it can be cancelled only if the payment fails",
            ));
        }
        other => {
            return Err(rejected(
                "id",
                ViolationCode::CheckoutNotOpen,
                format!(
                    "the checkout is {} and can no longer be cancelled",
                    other.as_str()
                ),
            ));
        }
    }
    let at = ChronoUnixTimestampMillis(now);
    let cancelled = checkout::Model {
        status: CheckoutStatus::Cancelled,
        open_reference: None,
        cancellation_reason: reason,
        cancelled_at: Some(at),
        updated_at: at,
        ..current
    };
    let changed = checkout::Entity::update_many()
        .col_expr(checkout::Column::Status, Expr::value(cancelled.status))
        .col_expr(
            checkout::Column::OpenReference,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            checkout::Column::CancellationReason,
            Expr::value(cancelled.cancellation_reason.clone()),
        )
        .col_expr(
            checkout::Column::CancelledAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(
            checkout::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(checkout::Column::Id.eq(id))
        .filter(checkout::Column::Status.eq(CheckoutStatus::Open))
        .exec(work.txn())
        .await?;
    if changed.rows_affected != 1 {
        return Err(rejected(
            "id",
            ViolationCode::CheckoutNotOpen,
            "the checkout is no longer open",
        ));
    }
    work.audit(
        actor,
        "checkout.cancelled",
        Some(("checkout", id)),
        serde_json::Value::Null,
        now,
    );
    let event = Event::checkout(
        EventType::CheckoutCancelled,
        &cancelled,
        json!({ "reason": cancelled.cancellation_reason }),
    );
    work.publish(event, now);
    work.commit().await?;
    Ok(cancelled)
}

fn rejected(field: &str, code: ViolationCode, message: impl Into<String>) -> ServiceError {
    ServiceError::Rejected(vec![Violation::new(
        &Path::input().at(field),
        code,
        message,
    )])
}

/// The checkouts of one merchant matching `filter`, as read at `now`: disjoint selects
/// whose union is the list, each answerable in index order. Expired checkouts are two: those
/// stored as expired, and open ones whose time ran out before the expiry job saw them.
fn filtered(
    merchant_id: Uuid,
    filter: &CheckoutFilter,
    now: DateTime<Utc>,
) -> Vec<Select<checkout::Entity>> {
    use checkout::Column;
    let now = now.timestamp_millis();
    let mut select = checkout::Entity::find().filter(Column::MerchantId.eq(merchant_id));
    if let Some(after) = filter.created_after {
        select = select.filter(Column::CreatedAt.gte(after.timestamp_millis()));
    }
    if let Some(before) = filter.created_before {
        select = select.filter(Column::CreatedAt.lt(before.timestamp_millis()));
    }
    if let Some(reference) = &filter.merchant_reference {
        select = select.filter(Column::MerchantReference.eq(reference.as_str()));
    }
    let stored = |status: CheckoutStatus| Column::Status.eq(status);
    // Open checkouts are few per merchant (they expire within the TTL). `+ 0` keeps the
    // planner on the (merchant, status, created_at) index, read in page order, rather than
    // seeking every merchant's open checkouts by expiry and sorting them.
    let expiry = || Expr::col(Column::ExpiresAt).add(0);
    match filter.status {
        None => vec![select],
        Some(CheckoutStatus::Open) => vec![
            select
                .filter(stored(CheckoutStatus::Open))
                .filter(expiry().gt(now)),
        ],
        Some(CheckoutStatus::Expired) => vec![
            select.clone().filter(stored(CheckoutStatus::Expired)),
            select
                .filter(stored(CheckoutStatus::Open))
                .filter(expiry().lte(now)),
        ],
        Some(
            status @ (CheckoutStatus::Confirming
            | CheckoutStatus::Completed
            | CheckoutStatus::Cancelled),
        ) => {
            vec![select.filter(stored(status))]
        }
    }
}

/// One page of a merchant's checkouts, in one statement per part of the filter.
pub async fn list(
    deps: &Deps,
    merchant_id: Uuid,
    filter: &CheckoutFilter,
    sort: CheckoutSortKey,
    descending: bool,
    page: PageRequest,
) -> ServiceResult<Page<checkout::Model>> {
    let keyset = Keyset {
        column: sort.column(),
        id: checkout::Column::Id,
        descending,
    };
    let selects = filtered(merchant_id, filter, deps.clock.now());
    Ok(keyset
        .fetch_union(&deps.db, selects, page, |row| sort.cursor(row))
        .await?)
}

/// How many checkouts of a merchant match `filter`.
pub async fn count(deps: &Deps, merchant_id: Uuid, filter: &CheckoutFilter) -> ServiceResult<u64> {
    let mut total = 0;
    for select in filtered(merchant_id, filter, deps.clock.now()) {
        total += select.count(&deps.db).await?;
    }
    Ok(total)
}

/// The items of each checkout, in position order, in one statement.
pub async fn items_by_checkout(
    db: &DatabaseConnection,
    checkout_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<checkout_item::Model>>> {
    let items = checkout_item::Entity::find()
        .filter(checkout_item::Column::CheckoutId.is_in(checkout_ids.iter().copied()))
        .order_by_asc(checkout_item::Column::CheckoutId)
        .order_by_asc(checkout_item::Column::Position)
        .all(db)
        .await?;
    let mut grouped: HashMap<Uuid, Vec<checkout_item::Model>> = HashMap::new();
    for item in items {
        grouped.entry(item.checkout_id).or_default().push(item);
    }
    Ok(grouped)
}
