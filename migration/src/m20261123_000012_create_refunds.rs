//! Creates `refunds`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    .col(pk_uuid(Refunds::Id))
                    .col(uuid(Refunds::OrderId))
                    .col(big_integer(Refunds::AmountMinor))
                    .col(big_integer(Refunds::ToShopperMinor))
                    .col(string_len_null(Refunds::Reason, 500))
                    .col(big_integer(Refunds::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refunds_order_id")
                            .from(Refunds::Table, Refunds::OrderId)
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
                    .name("idx_refunds_order_id_created_at")
                    .table(Refunds::Table)
                    .col(Refunds::OrderId)
                    .col(Refunds::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Refunds::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    OrderId,
    AmountMinor,
    ToShopperMinor,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}
