//! `paylater rotate-keys`: re-encrypts every encrypted column value written under an older
//! key with the current one, so the old key can then be removed. Safe while the server
//! serves: each value is replaced only if it has not changed since it was read.

use entity::{checkout, consumer, merchant, payment_method, staff_member, webhook_endpoint};
use sea_orm::{
    ColumnTrait, EntityTrait, IdenStatic, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{Deps, OrInternal, ServiceResult, checkout_pii};
use crate::encryption::column_context;

/// Rows read per statement.
const BATCH: u64 = 500;

/// Re-encrypts every stale value of one column; returns how many it rewrote.
async fn rotate_column<E>(deps: &Deps, id: E::Column, column: E::Column) -> ServiceResult<usize>
where
    E: EntityTrait,
{
    let table = E::default().table_name().to_owned();
    let vault = &deps.vault;
    let mut rewritten = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = E::find()
            .select_only()
            .column(id)
            .column(column)
            .filter(column.is_not_null())
            .order_by_asc(id)
            .limit(BATCH);
        if let Some(after) = after {
            select = select.filter(id.gt(after));
        }
        let rows: Vec<(Uuid, String)> = select.into_tuple().all(&deps.db).await?;
        let Some(&(last, _)) = rows.last() else {
            return Ok(rewritten);
        };
        after = Some(last);
        for (row_id, sealed) in rows {
            if !vault.needs_rotation(&sealed) {
                continue;
            }
            let context = column_context(&table, column.as_str(), row_id);
            let plain = vault
                .decrypt(&sealed, &context)
                .or_internal(|| format!("{table}.{} of {row_id}", column.as_str()))?;
            let updated = E::update_many()
                .col_expr(column, Expr::value(vault.encrypt(&plain, &context)))
                .filter(id.eq(row_id))
                .filter(column.eq(sealed))
                .exec(&deps.db)
                .await?;
            rewritten += usize::try_from(updated.rows_affected).unwrap_or(0);
        }
    }
}

/// Re-encrypts every encrypted column; returns how many values it rewrote.
pub async fn rotate_all(deps: &Deps) -> ServiceResult<usize> {
    use consumer::Column as Consumer;
    let mut rewritten = 0;
    for column in [
        Consumer::Email,
        Consumer::GivenName,
        Consumer::FamilyName,
        Consumer::Phone,
        Consumer::TotpSecret,
    ] {
        rewritten += rotate_column::<consumer::Entity>(deps, Consumer::Id, column).await?;
    }
    for column in [
        merchant::Column::RequestSigningSecret,
        merchant::Column::ReturnSigningSecret,
    ] {
        rewritten += rotate_column::<merchant::Entity>(deps, merchant::Column::Id, column).await?;
    }
    rewritten += rotate_column::<payment_method::Entity>(
        deps,
        payment_method::Column::Id,
        payment_method::Column::GatewayToken,
    )
    .await?;
    rewritten += rotate_column::<staff_member::Entity>(
        deps,
        staff_member::Column::Id,
        staff_member::Column::TotpSecret,
    )
    .await?;
    for column in [
        webhook_endpoint::Column::Secret,
        webhook_endpoint::Column::PreviousSecret,
    ] {
        rewritten +=
            rotate_column::<webhook_endpoint::Entity>(deps, webhook_endpoint::Column::Id, column)
                .await?;
    }
    for column in checkout_pii::ENCRYPTED_COLUMNS {
        rewritten += rotate_column::<checkout::Entity>(deps, checkout::Column::Id, column).await?;
    }
    Ok(rewritten)
}
