//! Creates `merchant_plan_settings`.

use crate::helpers::{create_index, foreign_key};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MerchantPlanSettings::Table)
                    .col(pk_uuid(MerchantPlanSettings::Id))
                    .col(uuid(MerchantPlanSettings::MerchantId))
                    .col(uuid(MerchantPlanSettings::PlanId))
                    .col(boolean(MerchantPlanSettings::Enabled))
                    .col(big_integer_null(MerchantPlanSettings::MinAmountMinor))
                    .col(big_integer_null(MerchantPlanSettings::MaxAmountMinor))
                    .col(big_integer(MerchantPlanSettings::CreatedAt))
                    .col(big_integer(MerchantPlanSettings::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        MerchantPlanSettings::Table,
                        MerchantPlanSettings::MerchantId,
                        Merchants::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        MerchantPlanSettings::Table,
                        MerchantPlanSettings::PlanId,
                        Plans::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            MerchantPlanSettings::Table,
            [
                MerchantPlanSettings::MerchantId,
                MerchantPlanSettings::PlanId,
            ],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MerchantPlanSettings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MerchantPlanSettings {
    Table,
    Id,
    MerchantId,
    PlanId,
    Enabled,
    MinAmountMinor,
    MaxAmountMinor,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
}
