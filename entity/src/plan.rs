//! Row of `plans`: a reference payment plan offered in one currency.

use domain::Currency;
use domain::PlanCode;
use sea_orm::entity::prelude::*;

/// A payment plan (e.g. pay in 3) for one currency; unique per (code, currency).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    /// Primary key (UUIDv7, or a fixed id for seeded plans).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Plan code, parsed by the application (e.g. PAY_IN_3, PAY_IN_30_DAYS).
    pub code: PlanCode,
    /// ISO 4217 currency the plan applies to.
    pub currency: Currency,
    /// Smallest order total the plan accepts, in minor units.
    pub min_amount_minor: i64,
    /// Largest order total the plan accepts, in minor units.
    pub max_amount_minor: i64,
    /// Whether the plan can be offered at all.
    pub active: bool,
    /// When the plan was created.
    pub created_at: ChronoUnixTimestampMillis,
}

/// No sea-orm relations: related rows are loaded through DataLoaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
