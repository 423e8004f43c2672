//! Creates `refunds`.

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
                    .table(Refunds::Table)
                    .col(pk_uuid(Refunds::Id))
                    .col(uuid(Refunds::OrderId))
                    .col(big_integer(Refunds::AmountMinor))
                    .col(big_integer(Refunds::ToShopperMinor))
                    .col(string_len_null(Refunds::Reason, 500))
                    .col(big_integer(Refunds::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        Refunds::Table,
                        Refunds::OrderId,
                        Orders::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            Refunds::Table,
            [Refunds::OrderId, Refunds::CreatedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Refunds::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    OrderId,
    AmountMinor,
    ToShopperMinor,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
}
