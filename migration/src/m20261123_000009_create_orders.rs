//! Creates `orders` (plural: ORDER is a reserved word).

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
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_merchant_id")
                            .from(Orders::Table, Orders::MerchantId)
                            .to(Merchants::Table, Merchants::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_checkout_id")
                            .from(Orders::Table, Orders::CheckoutId)
                            .to(Checkouts::Table, Checkouts::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_consumer_id")
                            .from(Orders::Table, Orders::ConsumerId)
                            .to(Consumers::Table, Consumers::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_plan_id")
                            .from(Orders::Table, Orders::PlanId)
                            .to(Plans::Table, Plans::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_payment_method_id")
                            .from(Orders::Table, Orders::PaymentMethodId)
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
                    .name("uq_orders_checkout_id")
                    .table(Orders::Table)
                    .col(Orders::CheckoutId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_merchant_id_created_at_id")
                    .table(Orders::Table)
                    .col(Orders::MerchantId)
                    .col(Orders::CreatedAt)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_consumer_id_created_at_id")
                    .table(Orders::Table)
                    .col(Orders::ConsumerId)
                    .col(Orders::CreatedAt)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_status_capture_deadline")
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .col(Orders::CaptureDeadline)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_merchant_id_merchant_reference")
                    .table(Orders::Table)
                    .col(Orders::MerchantId)
                    .col(Orders::MerchantReference)
                    .to_owned(),
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
    Id,
}

#[derive(DeriveIden)]
enum Checkouts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
    Id,
}
