//! Seeds the reference `plans` (PAY_IN_3, PAY_IN_4, PAY_IN_30_DAYS) for EUR and GBP.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::prelude::Uuid;

/// `created_at` of every seeded plan: 2026-11-23T00:00:00Z in Unix milliseconds.
const SEEDED_AT: i64 = 1_795_392_000_000;

/// One seeded plan; amounts are minor units of `currency`.
struct SeedPlan {
    /// Fixed id, so every database gets the same ids (UUIDv7 layout, `SEEDED_AT` timestamp).
    id: Uuid,
    code: &'static str,
    currency: &'static str,
    min_amount_minor: i64,
    max_amount_minor: i64,
}

const PLANS: [SeedPlan; 6] = [
    SeedPlan {
        id: Uuid::from_u128(0x01a205b3_d000_7000_8000_000000000001),
        code: "PAY_IN_3",
        currency: "EUR",
        min_amount_minor: 3_000,
        max_amount_minor: 150_000,
    },
    SeedPlan {
        id: Uuid::from_u128(0x01a205b3_d000_7000_8000_000000000002),
        code: "PAY_IN_4",
        currency: "EUR",
        min_amount_minor: 10_000,
        max_amount_minor: 300_000,
    },
    SeedPlan {
        id: Uuid::from_u128(0x01a205b3_d000_7000_8000_000000000003),
        code: "PAY_IN_30_DAYS",
        currency: "EUR",
        min_amount_minor: 1_000,
        max_amount_minor: 100_000,
    },
    SeedPlan {
        id: Uuid::from_u128(0x01a205b3_d000_7000_8000_000000000004),
        code: "PAY_IN_3",
        currency: "GBP",
        min_amount_minor: 3_000,
        max_amount_minor: 150_000,
    },
    SeedPlan {
        id: Uuid::from_u128(0x01a205b3_d000_7000_8000_000000000005),
        code: "PAY_IN_4",
        currency: "GBP",
        min_amount_minor: 10_000,
        max_amount_minor: 300_000,
    },
    SeedPlan {
        id: Uuid::from_u128(0x01a205b3_d000_7000_8000_000000000006),
        code: "PAY_IN_30_DAYS",
        currency: "GBP",
        min_amount_minor: 1_000,
        max_amount_minor: 100_000,
    },
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut insert = Query::insert();
        insert.into_table(Plans::Table).columns([
            Plans::Id,
            Plans::Code,
            Plans::Currency,
            Plans::MinAmountMinor,
            Plans::MaxAmountMinor,
            Plans::Active,
            Plans::CreatedAt,
        ]);
        for plan in &PLANS {
            insert
                .values([
                    plan.id.into(),
                    plan.code.into(),
                    plan.currency.into(),
                    plan.min_amount_minor.into(),
                    plan.max_amount_minor.into(),
                    true.into(),
                    SEEDED_AT.into(),
                ])
                .map_err(|e| DbErr::Migration(format!("seed plans: {e}")))?;
        }
        manager.execute(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .execute(
                Query::delete()
                    .from_table(Plans::Table)
                    .and_where(Expr::col(Plans::Id).is_in(PLANS.iter().map(|plan| plan.id)))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
    Code,
    Currency,
    MinAmountMinor,
    MaxAmountMinor,
    Active,
    CreatedAt,
}
