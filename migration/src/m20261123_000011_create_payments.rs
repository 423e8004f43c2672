//! Creates `payments`.

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
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_order_id")
                            .from(Payments::Table, Payments::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_installment_id")
                            .from(Payments::Table, Payments::InstallmentId)
                            .to(Installments::Table, Installments::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_payment_method_id")
                            .from(Payments::Table, Payments::PaymentMethodId)
                            .to(PaymentMethods::Table, PaymentMethods::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payments_order_id")
                    .table(Payments::Table)
                    .col(Payments::OrderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payments_installment_id")
                    .table(Payments::Table)
                    .col(Payments::InstallmentId)
                    .to_owned(),
            )
            .await
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
    Id,
}

#[derive(DeriveIden)]
enum Installments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
    Id,
}
