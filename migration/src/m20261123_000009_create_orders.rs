//! Creates `orders` (plural: ORDER is a reserved word).

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
                    .table(Orders::Table)
                    .col(pk_uuid(Orders::Id))
                    .col(uuid(Orders::MerchantId))
                    .col(uuid(Orders::CheckoutId))
                    .col(uuid(Orders::ConsumerId))
                    .col(uuid(Orders::PlanId))
                    .col(uuid(Orders::PaymentMethodId))
                    .col(string_len(Orders::Status, 32))
                    .col(string_len(Orders::Currency, 3))
                    .col(big_integer(Orders::TotalMinor))
                    .col(big_integer(Orders::CapturedMinor))
                    .col(big_integer(Orders::RefundedMinor))
                    .col(string_len(Orders::MerchantReference, 128))
                    .col(big_integer(Orders::CaptureDeadline))
                    .col(big_integer(Orders::CreatedAt))
                    .col(big_integer(Orders::UpdatedAt))
                    .col(big_integer_null(Orders::CapturedAt))
                    .col(big_integer_null(Orders::CancelledAt))
                    .col(big_integer_null(Orders::CompletedAt))
                    .foreign_key(&mut foreign_key(
                        Orders::Table,
                        Orders::MerchantId,
                        Merchants::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        Orders::Table,
                        Orders::CheckoutId,
                        Checkouts::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        Orders::Table,
                        Orders::ConsumerId,
                        Consumers::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        Orders::Table,
                        Orders::PlanId,
                        Plans::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        Orders::Table,
                        Orders::PaymentMethodId,
                        PaymentMethods::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(manager, Orders::Table, [Orders::CheckoutId], true).await?;
        create_index(
            manager,
            Orders::Table,
            [Orders::MerchantId, Orders::CreatedAt, Orders::Id],
            false,
        )
        .await?;
        create_index(
            manager,
            Orders::Table,
            [Orders::ConsumerId, Orders::CreatedAt, Orders::Id],
            false,
        )
        .await?;
        create_index(
            manager,
            Orders::Table,
            [Orders::Status, Orders::CaptureDeadline],
            false,
        )
        .await?;
        create_index(
            manager,
            Orders::Table,
            [Orders::MerchantId, Orders::MerchantReference],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Orders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    MerchantId,
    CheckoutId,
    ConsumerId,
    PlanId,
    PaymentMethodId,
    Status,
    Currency,
    TotalMinor,
    CapturedMinor,
    RefundedMinor,
    MerchantReference,
    CaptureDeadline,
    CreatedAt,
    UpdatedAt,
    CapturedAt,
    CancelledAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
}

#[derive(DeriveIden)]
enum Checkouts {
    Table,
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
}
