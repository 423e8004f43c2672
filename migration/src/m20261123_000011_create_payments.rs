//! Creates `payments`.

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
                    .table(Payments::Table)
                    .col(pk_uuid(Payments::Id))
                    .col(uuid(Payments::OrderId))
                    .col(uuid_null(Payments::InstallmentId))
                    .col(uuid(Payments::PaymentMethodId))
                    .col(big_integer(Payments::AmountMinor))
                    .col(string_len(Payments::Currency, 3))
                    .col(string_len(Payments::Status, 32))
                    .col(string_len_null(Payments::GatewayReference, 255))
                    .col(string_len_null(Payments::FailureCode, 64))
                    .col(big_integer(Payments::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        Payments::Table,
                        Payments::OrderId,
                        Orders::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut foreign_key(
                        Payments::Table,
                        Payments::InstallmentId,
                        Installments::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut foreign_key(
                        Payments::Table,
                        Payments::PaymentMethodId,
                        PaymentMethods::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(manager, Payments::Table, [Payments::OrderId], false).await?;
        create_index(manager, Payments::Table, [Payments::InstallmentId], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Payments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrderId,
    InstallmentId,
    PaymentMethodId,
    AmountMinor,
    Currency,
    Status,
    GatewayReference,
    FailureCode,
    CreatedAt,
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
