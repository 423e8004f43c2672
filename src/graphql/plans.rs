//! Payment plans and their schedules, for checkouts and product-page widgets.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::NaiveDate;

use super::{
    context::{deps, loaders},
    errors::ErrorCode,
    ids::{NodeKind, decode},
    loaders::load_one,
    money::{Money, MoneyInput},
    scalars::Date,
};
use crate::{
    domain::{Money as DomainMoney, MoneyError},
    service::plans::{PlanPreview, previews},
};

/// A way to pay in instalments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::PlanCode")]
pub enum PlanCode {
    /// Three monthly installments, the first at confirmation.
    PayIn3,
    /// Four monthly installments, the first at confirmation.
    PayIn4,
    /// One payment, 30 days after confirmation.
    PayIn30Days,
}

/// One payment of a schedule.
#[derive(Debug, Clone, SimpleObject)]
pub struct ScheduledInstallment {
    /// Position in the schedule, starting at 1.
    pub sequence: i32,
    /// When it is charged. Monthly dates keep the day of month, clamped to the month's end.
    pub due_date: Date,
    /// How much is charged.
    pub amount: Money,
}

/// A plan the shopper can choose, with the schedule it gives for the amount.
#[derive(Debug, Clone, SimpleObject)]
pub struct InstallmentPlan {
    /// Which plan.
    pub plan: PlanCode,
    /// The plan's name for display, e.g. "Pay in 3".
    pub name: String,
    /// How many installments.
    pub installment_count: i32,
    /// The amount split; the installments sum to exactly this.
    pub total: Money,
    /// The schedule; the first installment carries any remainder of the split.
    pub installments: Vec<ScheduledInstallment>,
    /// What confirming today charges at once: the installments due today (the first of a
    /// monthly plan; nothing for `PAY_IN_30_DAYS`).
    pub due_today: Money,
}

impl From<PlanPreview> for InstallmentPlan {
    fn from(preview: PlanPreview) -> Self {
        Self {
            plan: preview.code.into(),
            name: preview.code.display_name().to_owned(),
            installment_count: i32::try_from(preview.installments.len()).unwrap_or(i32::MAX),
            total: preview.total.into(),
            due_today: preview.due_at_start.into(),
            installments: preview
                .installments
                .into_iter()
                .map(|installment| ScheduledInstallment {
                    sequence: i32::try_from(installment.sequence).unwrap_or(i32::MAX),
                    due_date: Date(installment.due_date),
                    amount: installment.amount.into(),
                })
                .collect(),
        }
    }
}

/// Today's date, where a schedule confirmed now would start.
pub fn today(ctx: &Context<'_>) -> async_graphql::Result<NaiveDate> {
    Ok(deps(ctx)?.clock.now().date_naive())
}

/// The plans a merchant offers for `amount`, with their schedules.
pub async fn plans_for(
    ctx: &Context<'_>,
    merchant_id: uuid::Uuid,
    amount: DomainMoney,
) -> async_graphql::Result<Vec<InstallmentPlan>> {
    let offered = load_one(&loaders(ctx)?.offered_plans, merchant_id)
        .await?
        .unwrap_or_default();
    Ok(previews(&offered, amount, today(ctx)?)
        .into_iter()
        .map(InstallmentPlan::from)
        .collect())
}

/// Public plan queries.
#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// The plans a merchant offers for an amount, with their schedules starting today; for
    /// product pages ("or 3 payments of 33.33 EUR"). Needs no credentials; public, and
    /// cacheable for a minute (see `GET /graphql`).
    #[graphql(cache_control(max_age = 60))]
    async fn installment_plans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The price to split.")] amount: MoneyInput,
        #[graphql(desc = "The merchant's ID.")] merchant_id: ID,
    ) -> async_graphql::Result<Vec<InstallmentPlan>> {
        let merchant_id = decode(&merchant_id, NodeKind::Merchant)?;
        load_one(&loaders(ctx)?.merchants, merchant_id)
            .await?
            .ok_or_else(|| ErrorCode::NotFound.error("merchant not found"))?;
        let amount =
            DomainMoney::from_decimal(amount.amount.0, amount.currency_code.0).map_err(|err| {
                match err {
                    MoneyError::TooPrecise { .. } => ErrorCode::BadUserInput.error(err.to_string()),
                    _ => ErrorCode::BadUserInput.error("amount is out of range"),
                }
            })?;
        if !amount.is_positive() {
            return Err(ErrorCode::BadUserInput.error("amount must be greater than zero"));
        }
        plans_for(ctx, merchant_id, amount).await
    }
}
