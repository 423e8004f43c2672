//! Creates `checkout_items`.

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
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_checkout_items_checkout_id")
                            .from(CheckoutItems::Table, CheckoutItems::CheckoutId)
                            .to(Checkouts::Table, Checkouts::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_checkout_items_checkout_id_position")
                    .table(CheckoutItems::Table)
                    .col(CheckoutItems::CheckoutId)
                    .col(CheckoutItems::Position)
                    .unique()
                    .to_owned(),
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
    Id,
}
