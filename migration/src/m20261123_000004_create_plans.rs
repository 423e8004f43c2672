//! Creates `plans`.

use crate::helpers::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Plans::Table)
                    .col(pk_uuid(Plans::Id))
                    .col(string_len(Plans::Code, 32))
                    .col(string_len(Plans::Currency, 3))
                    .col(big_integer(Plans::MinAmountMinor))
                    .col(big_integer(Plans::MaxAmountMinor))
                    .col(boolean(Plans::Active))
                    .col(big_integer(Plans::CreatedAt))
                    .to_owned(),
            )
            .await?;
        create_index(manager, Plans::Table, [Plans::Code, Plans::Currency], true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Plans::Table).to_owned())
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
