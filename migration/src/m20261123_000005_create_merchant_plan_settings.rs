//! Creates `merchant_plan_settings`.

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
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_merchant_plan_settings_merchant_id")
                            .from(
                                MerchantPlanSettings::Table,
                                MerchantPlanSettings::MerchantId,
                            )
                            .to(Merchants::Table, Merchants::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_merchant_plan_settings_plan_id")
                            .from(MerchantPlanSettings::Table, MerchantPlanSettings::PlanId)
                            .to(Plans::Table, Plans::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_merchant_plan_settings_merchant_id_plan_id")
                    .table(MerchantPlanSettings::Table)
                    .col(MerchantPlanSettings::MerchantId)
                    .col(MerchantPlanSettings::PlanId)
                    .unique()
                    .to_owned(),
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
    Id,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
}
