//! Creates `checkouts`.

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
                    .table(Checkouts::Table)
                    .col(pk_uuid(Checkouts::Id))
                    .col(uuid(Checkouts::MerchantId))
                    .col(string_len(Checkouts::TokenHash, 64))
                    .col(string_len(Checkouts::Status, 32))
                    .col(string_len(Checkouts::Currency, 3))
                    .col(big_integer(Checkouts::ShippingMinor))
                    .col(big_integer(Checkouts::TaxMinor))
                    .col(big_integer(Checkouts::DiscountMinor))
                    .col(big_integer(Checkouts::TotalMinor))
                    .col(string_len(Checkouts::MerchantReference, 128))
                    .col(string_len_null(Checkouts::OpenReference, 128))
                    .col(string_len_null(Checkouts::ShopperEmail, 320))
                    .col(string_len_null(Checkouts::ShopperGivenName, 100))
                    .col(string_len_null(Checkouts::ShopperFamilyName, 100))
                    .col(string_len_null(Checkouts::ShopperPhone, 32))
                    .col(string_len_null(Checkouts::ShippingName, 200))
                    .col(string_len_null(Checkouts::ShippingLine1, 200))
                    .col(string_len_null(Checkouts::ShippingLine2, 200))
                    .col(string_len_null(Checkouts::ShippingCity, 100))
                    .col(string_len_null(Checkouts::ShippingPostalCode, 32))
                    .col(string_len_null(Checkouts::ShippingRegion, 100))
                    .col(string_len_null(Checkouts::ShippingCountryCode, 2))
                    .col(text(Checkouts::ConfirmUrl))
                    .col(text(Checkouts::CancelUrl))
                    .col(string_len_null(Checkouts::CancellationReason, 500))
                    .col(big_integer(Checkouts::ExpiresAt))
                    .col(big_integer(Checkouts::CreatedAt))
                    .col(big_integer(Checkouts::UpdatedAt))
                    .col(big_integer_null(Checkouts::CancelledAt))
                    .col(big_integer_null(Checkouts::CompletedAt))
                    .foreign_key(&mut foreign_key(
                        Checkouts::Table,
                        Checkouts::MerchantId,
                        Merchants::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(manager, Checkouts::Table, [Checkouts::TokenHash], true).await?;
        // NULL values never collide in a unique index, so only open checkouts
        // (open_reference = merchant_reference) compete for the reference.
        create_index(
            manager,
            Checkouts::Table,
            [Checkouts::MerchantId, Checkouts::OpenReference],
            true,
        )
        .await?;
        create_index(
            manager,
            Checkouts::Table,
            [Checkouts::MerchantId, Checkouts::CreatedAt, Checkouts::Id],
            false,
        )
        .await?;
        create_index(
            manager,
            Checkouts::Table,
            [Checkouts::MerchantId, Checkouts::ExpiresAt, Checkouts::Id],
            false,
        )
        .await?;
        create_index(
            manager,
            Checkouts::Table,
            [
                Checkouts::MerchantId,
                Checkouts::Status,
                Checkouts::CreatedAt,
                Checkouts::Id,
            ],
            false,
        )
        .await?;
        create_index(
            manager,
            Checkouts::Table,
            [Checkouts::MerchantId, Checkouts::MerchantReference],
            false,
        )
        .await?;
        create_index(
            manager,
            Checkouts::Table,
            [Checkouts::Status, Checkouts::ExpiresAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Checkouts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Checkouts {
    Table,
    Id,
    MerchantId,
    TokenHash,
    Status,
    Currency,
    ShippingMinor,
    TaxMinor,
    DiscountMinor,
    TotalMinor,
    MerchantReference,
    OpenReference,
    ShopperEmail,
    ShopperGivenName,
    ShopperFamilyName,
    ShopperPhone,
    ShippingName,
    ShippingLine1,
    ShippingLine2,
    ShippingCity,
    ShippingPostalCode,
    ShippingRegion,
    ShippingCountryCode,
    ConfirmUrl,
    CancelUrl,
    CancellationReason,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
    CancelledAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
}
