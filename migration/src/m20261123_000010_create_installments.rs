//! Creates `installments`.

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
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_installments_order_id")
                            .from(Installments::Table, Installments::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_installments_order_id_sequence")
                    .table(Installments::Table)
                    .col(Installments::OrderId)
                    .col(Installments::Sequence)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_installments_status_due_date")
                    .table(Installments::Table)
                    .col(Installments::Status)
                    .col(Installments::DueDate)
                    .to_owned(),
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
    Id,
}
