//! Creates `installments`.

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
                    .table(Installments::Table)
                    .col(pk_uuid(Installments::Id))
                    .col(uuid(Installments::OrderId))
                    .col(integer(Installments::Sequence))
                    .col(date(Installments::DueDate))
                    .col(big_integer(Installments::OriginalAmountMinor))
                    .col(big_integer(Installments::AmountMinor))
                    .col(string_len(Installments::Status, 32))
                    .col(big_integer_null(Installments::PaidAt))
                    .col(integer(Installments::AttemptCount))
                    .col(big_integer_null(Installments::NextAttemptAt))
                    .col(big_integer(Installments::CreatedAt))
                    .col(big_integer(Installments::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        Installments::Table,
                        Installments::OrderId,
                        Orders::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            Installments::Table,
            [Installments::OrderId, Installments::Sequence],
            true,
        )
        .await?;
        create_index(
            manager,
            Installments::Table,
            [Installments::Status, Installments::DueDate],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Installments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Installments {
    Table,
    Id,
    OrderId,
    Sequence,
    DueDate,
    OriginalAmountMinor,
    AmountMinor,
    Status,
    PaidAt,
    AttemptCount,
    NextAttemptAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
}
