//! Creates `payment_methods`.

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
                    .table(PaymentMethods::Table)
                    .col(pk_uuid(PaymentMethods::Id))
                    .col(uuid(PaymentMethods::ConsumerId))
                    .col(string_len(PaymentMethods::GatewayToken, 255))
                    .col(string_len(PaymentMethods::Brand, 32))
                    .col(string_len(PaymentMethods::Last4, 4))
                    .col(integer(PaymentMethods::ExpMonth))
                    .col(integer(PaymentMethods::ExpYear))
                    .col(big_integer(PaymentMethods::CreatedAt))
                    .col(big_integer_null(PaymentMethods::DeletedAt))
                    .foreign_key(&mut foreign_key(
                        PaymentMethods::Table,
                        PaymentMethods::ConsumerId,
                        Consumers::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            PaymentMethods::Table,
            [PaymentMethods::ConsumerId],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentMethods::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
    Id,
    ConsumerId,
    GatewayToken,
    Brand,
    Last4,
    ExpMonth,
    ExpYear,
    CreatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
}
