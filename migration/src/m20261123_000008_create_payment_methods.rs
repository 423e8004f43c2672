//! Creates `payment_methods`.

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
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_methods_consumer_id")
                            .from(PaymentMethods::Table, PaymentMethods::ConsumerId)
                            .to(Consumers::Table, Consumers::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payment_methods_consumer_id")
                    .table(PaymentMethods::Table)
                    .col(PaymentMethods::ConsumerId)
                    .to_owned(),
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
    Id,
}
