//! Creates `outbox_events`.

use crate::helpers::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(pk_uuid(OutboxEvents::Id))
                    .col(string_len(OutboxEvents::EventType, 64))
                    .col(string_len(OutboxEvents::AggregateType, 32))
                    .col(uuid(OutboxEvents::AggregateId))
                    .col(uuid_null(OutboxEvents::MerchantId))
                    .col(text(OutboxEvents::Payload))
                    .col(big_integer(OutboxEvents::CreatedAt))
                    .col(big_integer_null(OutboxEvents::PublishedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            OutboxEvents::Table,
            [OutboxEvents::PublishedAt, OutboxEvents::CreatedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboxEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    EventType,
    AggregateType,
    AggregateId,
    MerchantId,
    Payload,
    CreatedAt,
    PublishedAt,
}
