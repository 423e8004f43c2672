//! Creates `payment_attempts`, and indexes `idempotency_keys` by status and age so stale
//! claims are found without a scan.

use crate::helpers::{create_index, foreign_key};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PaymentAttempts as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(pk_uuid(A::Id))
                    .col(string_len(A::Kind, 32))
                    .col(string_len(A::Status, 16))
                    .col(string_len_null(A::Reservation, 64))
                    .col(uuid_null(A::IdempotencyKeyId))
                    .col(uuid_null(A::ConsumerId))
                    .col(uuid_null(A::CheckoutId))
                    .col(uuid_null(A::OrderId))
                    .col(uuid_null(A::InstallmentId))
                    .col(uuid_null(A::PaymentMethodId))
                    .col(string_len(A::Currency, 3))
                    .col(big_integer(A::AmountMinor))
                    .col(big_integer(A::CreditMinor))
                    .col(text(A::Request))
                    .col(text_null(A::Outcome))
                    .col(string_len_null(A::FailureCode, 64))
                    .col(integer(A::GatewayCalls))
                    .col(big_integer(A::CreatedAt))
                    .col(big_integer(A::UpdatedAt))
                    .col(big_integer(A::NextCheckAt))
                    .col(big_integer_null(A::SettledAt))
                    .foreign_key(&mut foreign_key(
                        A::Table,
                        A::IdempotencyKeyId,
                        IdempotencyKeys::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut foreign_key(
                        A::Table,
                        A::ConsumerId,
                        Consumers::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        A::Table,
                        A::CheckoutId,
                        Checkouts::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        A::Table,
                        A::OrderId,
                        Orders::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        A::Table,
                        A::InstallmentId,
                        Installments::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        A::Table,
                        A::PaymentMethodId,
                        PaymentMethods::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        // One money operation at a time per checkout or order.
        create_index(manager, A::Table, [A::Reservation], true).await?;
        // The reconciler's queue: pending attempts by when to look at them again.
        create_index(manager, A::Table, [A::Status, A::NextCheckAt], false).await?;
        // The credit held by a consumer's pending confirmations.
        create_index(manager, A::Table, [A::ConsumerId, A::Status], false).await?;
        create_index(manager, A::Table, [A::IdempotencyKeyId], false).await?;
        create_index(manager, A::Table, [A::CheckoutId], false).await?;
        create_index(manager, A::Table, [A::OrderId], false).await?;
        create_index(manager, A::Table, [A::InstallmentId], false).await?;
        create_index(
            manager,
            IdempotencyKeys::Table,
            [IdempotencyKeys::Status, IdempotencyKeys::CreatedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_idempotency_keys_status_created_at")
                    .table(IdempotencyKeys::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PaymentAttempts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PaymentAttempts {
    Table,
    Id,
    Kind,
    Status,
    Reservation,
    IdempotencyKeyId,
    ConsumerId,
    CheckoutId,
    OrderId,
    InstallmentId,
    PaymentMethodId,
    Currency,
    AmountMinor,
    CreditMinor,
    Request,
    Outcome,
    FailureCode,
    GatewayCalls,
    CreatedAt,
    UpdatedAt,
    NextCheckAt,
    SettledAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
}

#[derive(DeriveIden)]
enum Checkouts {
    Table,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
}

#[derive(DeriveIden)]
enum Installments {
    Table,
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
}
