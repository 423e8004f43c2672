//! Merchant API keys: created with scopes (the secret is shown once), listed, revoked, and
//! their last use tracked without a write per request.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use entity::api_key;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QuerySelect, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Deps, ServiceError, ServiceResult,
    audit::Actor,
    pagination::{Cursor, Keyset, Page, PageRequest},
};
use crate::{
    auth::{MerchantPrincipal, api_key::NewApiKey},
    domain::scope::Scopes,
    domain::violation::{Path, Violation, ViolationCode},
    service::unit_of_work::UnitOfWork,
};

/// Longest key name kept.
pub const MAX_NAME_LEN: usize = 100;

/// A key just created: the stored row and the secret, which is never shown again.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: api_key::Model,
    /// The secret and its stored forms.
    pub secret: NewApiKey,
}

fn rejected(field: &str, code: ViolationCode, message: impl Into<String>) -> ServiceError {
    ServiceError::Rejected(vec![Violation::new(
        &Path::input().at(field),
        code,
        message,
    )])
}

/// Creates a key for the calling merchant. A key may only grant scopes it holds itself,
/// so a narrow key cannot mint a broader one.
pub async fn create(
    deps: &Deps,
    caller: &MerchantPrincipal,
    actor: &Actor,
    name: &str,
    scopes: Scopes,
) -> ServiceResult<CreatedApiKey> {
    let name = name.trim();
    if name.is_empty() {
        return Err(rejected("name", ViolationCode::Blank, "must not be blank"));
    }
    if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(rejected(
            "name",
            ViolationCode::TooLong,
            format!("must be at most {MAX_NAME_LEN} printable characters"),
        ));
    }
    if scopes.is_empty() {
        return Err(rejected(
            "scopes",
            ViolationCode::Empty,
            "name at least one scope",
        ));
    }
    if !scopes.is_subset_of(caller.scopes) {
        return Err(rejected(
            "scopes",
            ViolationCode::ScopeNotHeld,
            format!("this API key holds only: {}", caller.scopes),
        ));
    }
    let now = deps.clock.now();
    let secret = NewApiKey::generate(deps.live_mode);
    let key = api_key::Model {
        id: Uuid::now_v7(),
        merchant_id: caller.merchant_id,
        name: name.to_owned(),
        prefix: secret.prefix.clone(),
        secret_hash: secret.hash.clone(),
        scopes,
        created_at: ChronoUnixTimestampMillis(now),
        last_used_at: None,
        revoked_at: None,
    };
    let mut work = UnitOfWork::begin(deps).await?;
    api_key::Entity::insert(key.clone().into_active_model())
        .exec_without_returning(work.txn())
        .await?;
    let details =
        json!({ "name": key.name, "prefix": key.prefix, "scopes": key.scopes.to_string() });
    work.audit(
        actor,
        "api_key.created",
        Some(("api_key", key.id)),
        details,
        now,
    );
    work.commit().await?;
    deps.caches.api_key_changed(key.secret_hash.clone()).await;
    Ok(CreatedApiKey { key, secret })
}

/// Revokes a key of the calling merchant; it stops working at once. Revoking a revoked key
/// changes nothing and returns it as it is.
pub async fn revoke(
    deps: &Deps,
    caller: &MerchantPrincipal,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<api_key::Model> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let key = api_key::Entity::find_by_id(id)
        .filter(api_key::Column::MerchantId.eq(caller.merchant_id))
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let revoked = api_key::Model {
        revoked_at: Some(ChronoUnixTimestampMillis(now)),
        ..key
    };
    api_key::Entity::update_many()
        .col_expr(
            api_key::Column::RevokedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(api_key::Column::Id.eq(id))
        .exec(work.txn())
        .await?;
    let details = json!({ "prefix": revoked.prefix });
    work.audit(
        actor,
        "api_key.revoked",
        Some(("api_key", id)),
        details,
        now,
    );
    work.commit().await?;
    deps.caches
        .api_key_changed(revoked.secret_hash.clone())
        .await;
    Ok(revoked)
}

/// A key of this merchant; another merchant's key is `NotFound`.
pub async fn get(
    db: &DatabaseConnection,
    merchant_id: Uuid,
    id: Uuid,
) -> ServiceResult<api_key::Model> {
    api_key::Entity::find_by_id(id)
        .filter(api_key::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The cursor of a key in the list order (newest first).
pub fn cursor(key: &api_key::Model) -> Cursor {
    Cursor {
        value: key.created_at.0.timestamp_millis(),
        id: key.id,
    }
}

/// One page of a merchant's keys, newest first, revoked ones included.
pub async fn list(
    db: &DatabaseConnection,
    merchant_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<api_key::Model>> {
    let keyset = Keyset {
        column: api_key::Column::CreatedAt,
        id: api_key::Column::Id,
        descending: true,
    };
    let select = api_key::Entity::find().filter(api_key::Column::MerchantId.eq(merchant_id));
    Ok(keyset.fetch(db, select, page).await?)
}

/// How many keys a merchant has, revoked ones included.
pub async fn count(db: &DatabaseConnection, merchant_id: Uuid) -> ServiceResult<u64> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::MerchantId.eq(merchant_id))
        .count(db)
        .await?)
}

/// When each key was last used, kept in memory and written in batches: authenticating a
/// request then costs no write, and `lastUsedAt` is at most one flush interval old.
#[derive(Debug, Clone, Default)]
pub struct UsageTracker {
    pending: Arc<Mutex<HashMap<Uuid, DateTime<Utc>>>>,
}

impl UsageTracker {
    /// Notes that `key_id` was used at `at`.
    pub fn record(&self, key_id: Uuid, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let last = pending.entry(key_id).or_insert(at);
        *last = (*last).max(at);
    }

    /// Writes the noted uses; returns how many keys were written. A use that loses to a
    /// later one already stored is skipped by the `WHERE`.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for (id, at) in &pending {
            let at = at.timestamp_millis();
            api_key::Entity::update_many()
                .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
                .filter(api_key::Column::Id.eq(*id))
                .filter(
                    Condition::any()
                        .add(api_key::Column::LastUsedAt.is_null())
                        .add(api_key::Column::LastUsedAt.lt(at)),
                )
                .exec(db)
                .await?;
        }
        Ok(pending.len())
    }
}
