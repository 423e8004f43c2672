//! Which payment plans a merchant offers, and the schedules they would give for an amount.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{merchant_plan_setting, plan};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{Caches, ServiceResult};
use crate::domain::{
    AmountLimits, Currency, Money, PlanCode, ScheduledInstallment, build_schedule, due_by,
};

/// A plan a merchant has enabled, in one currency, with the limits that apply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedPlan {
    /// The plan's row id.
    pub plan_id: Uuid,
    /// Which plan.
    pub code: PlanCode,
    /// The currency these limits are in.
    pub currency: Currency,
    /// Order amounts the plan accepts for this merchant.
    pub limits: AmountLimits,
}

/// A plan with the schedule it would give for one amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPreview {
    /// Which plan.
    pub code: PlanCode,
    /// The amount that was split.
    pub total: Money,
    /// The installments, summing exactly to `total`.
    pub installments: Vec<ScheduledInstallment>,
    /// What confirming on the schedule's first day charges at once: the installments due
    /// that day.
    pub due_at_start: Money,
}

/// The enabled plans of each merchant, in two statements whatever the number of merchants.
pub async fn offered_by_merchants(
    db: &impl ConnectionTrait,
    merchant_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<OfferedPlan>>> {
    let settings = merchant_plan_setting::Entity::find()
        .filter(merchant_plan_setting::Column::MerchantId.is_in(merchant_ids.iter().copied()))
        .filter(merchant_plan_setting::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let plans: HashMap<Uuid, plan::Model> = plan::Entity::find()
        .filter(plan::Column::Id.is_in(settings.iter().map(|s| s.plan_id)))
        .filter(plan::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|plan| (plan.id, plan))
        .collect();
    let mut offered: HashMap<Uuid, Vec<OfferedPlan>> = HashMap::new();
    for setting in settings {
        let Some(plan) = plans.get(&setting.plan_id) else {
            continue;
        };
        let limits = AmountLimits {
            min_minor: plan.min_amount_minor,
            max_minor: plan.max_amount_minor,
        }
        .narrowed(setting.min_amount_minor, setting.max_amount_minor);
        offered
            .entry(setting.merchant_id)
            .or_default()
            .push(OfferedPlan {
                plan_id: plan.id,
                code: plan.code,
                currency: plan.currency,
                limits,
            });
    }
    for plans in offered.values_mut() {
        plans.sort_by_key(|plan| PlanCode::ALL.iter().position(|code| *code == plan.code));
    }
    Ok(offered)
}

/// The enabled plans of each merchant, for DataLoaders: the cached ones, and the rest in
/// two statements.
pub async fn cached_offered_by_merchants(
    db: &impl ConnectionTrait,
    caches: &Caches,
    merchant_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<OfferedPlan>>> {
    caches
        .offered_plans
        .get_or_load(merchant_ids, |missing| async move {
            let mut offered = offered_by_merchants(db, &missing).await?;
            for id in missing {
                offered.entry(id).or_default();
            }
            Ok(offered)
        })
        .await
}

/// The schedules of every offered plan that accepts `amount`, with the first installment on
/// `start`.
pub fn previews(offered: &[OfferedPlan], amount: Money, start: NaiveDate) -> Vec<PlanPreview> {
    offered
        .iter()
        .filter(|plan| plan.currency == amount.currency() && plan.limits.allows(amount.minor()))
        .filter_map(|plan| {
            let installments = build_schedule(amount, plan.code, start).ok()?;
            let due_at_start = Money::new(due_by(&installments, start), amount.currency());
            Some(PlanPreview {
                code: plan.code,
                total: amount,
                installments,
                due_at_start,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(code: PlanCode, min: i64, max: i64) -> OfferedPlan {
        OfferedPlan {
            plan_id: Uuid::now_v7(),
            code,
            currency: Currency::Eur,
            limits: AmountLimits {
                min_minor: min,
                max_minor: max,
            },
        }
    }

    #[test]
    fn previews_only_plans_whose_limits_and_currency_fit() {
        let plans = [
            offered(PlanCode::PayIn3, 3000, 150_000),
            offered(PlanCode::PayIn4, 10_000, 300_000),
        ];
        let start = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let previews = previews(&plans, Money::new(5000, Currency::Eur), start);
        assert_eq!(previews.len(), 1);
        assert_eq!(previews[0].code, PlanCode::PayIn3);
        let amounts: Vec<i64> = previews[0]
            .installments
            .iter()
            .map(|i| i.amount.minor())
            .collect();
        assert_eq!(amounts, vec![1668, 1666, 1666]);
        assert!(super::previews(&plans, Money::new(5000, Currency::Gbp), start).is_empty());
    }
}
