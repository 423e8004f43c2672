//! A merchant's secrets as stored: sealed in their column, changed in one audited unit of
//! work, after which this instance's caches forget the merchant. The request-signing
//! secret ([`super::merchants`]) and the return signing secret ([`super::signed_returns`])
//! are both kept this way.

use entity::merchant;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::{Deps, ServiceError, ServiceResult, audit::Actor, unit_of_work::UnitOfWork};

/// Stores (or clears) a sealed secret of the merchant in `column` and audits it as
/// `action`, in one transaction; this instance's caches forget the merchant.
pub(super) async fn store(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    column: merchant::Column,
    sealed: Option<String>,
    action: &str,
) -> ServiceResult<()> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let changed = merchant::Entity::update_many()
        .col_expr(column, Expr::value(sealed))
        .col_expr(
            merchant::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(merchant::Column::Id.eq(merchant_id))
        .exec(work.txn())
        .await?;
    if changed.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    let target = Some(("merchant", merchant_id));
    work.audit(actor, action, target, serde_json::json!(null), now);
    work.commit().await?;
    deps.caches.merchant_changed(merchant_id).await;
    Ok(())
}
