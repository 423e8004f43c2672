//! Creates `checkout_items`.

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
                    .table(CheckoutItems::Table)
                    .col(pk_uuid(CheckoutItems::Id))
                    .col(uuid(CheckoutItems::CheckoutId))
                    .col(integer(CheckoutItems::Position))
                    .col(string_len(CheckoutItems::Name, 200))
                    .col(string_len_null(CheckoutItems::Sku, 64))
                    .col(integer(CheckoutItems::Quantity))
                    .col(big_integer(CheckoutItems::UnitPriceMinor))
                    .col(text_null(CheckoutItems::ImageUrl))
                    .col(string_len_null(CheckoutItems::Category, 100))
                    .foreign_key(&mut foreign_key(
                        CheckoutItems::Table,
                        CheckoutItems::CheckoutId,
                        Checkouts::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            CheckoutItems::Table,
            [CheckoutItems::CheckoutId, CheckoutItems::Position],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CheckoutItems::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CheckoutItems {
    Table,
    Id,
    CheckoutId,
    Position,
    Name,
    Sku,
    Quantity,
    UnitPriceMinor,
    ImageUrl,
    Category,
}

#[derive(DeriveIden)]
enum Checkouts {
    Table,
}
