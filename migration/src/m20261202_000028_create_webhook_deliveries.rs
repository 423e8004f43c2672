//! Creates `webhook_deliveries`: one event on its way to one endpoint, with its retry
//! schedule. One per endpoint and event, whatever the relay repeats.

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
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid(WebhookDeliveries::MerchantId))
                    .col(uuid(WebhookDeliveries::EventId))
                    .col(string_len(WebhookDeliveries::EventType, 64))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::AttemptCount))
                    .col(big_integer_null(WebhookDeliveries::NextAttemptAt))
                    .col(boolean(WebhookDeliveries::RedeliveryRequested))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(big_integer(WebhookDeliveries::CreatedAt))
                    .col(big_integer(WebhookDeliveries::UpdatedAt))
                    .col(big_integer_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(&mut foreign_key(
                        WebhookDeliveries::Table,
                        WebhookDeliveries::EndpointId,
                        WebhookEndpoints::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        use WebhookDeliveries as D;
        create_index(manager, D::Table, [D::EndpointId, D::EventId], true).await?;
        create_index(manager, D::Table, [D::Status, D::NextAttemptAt], false).await?;
        create_index(manager, D::Table, [D::MerchantId, D::CreatedAt], false).await?;
        create_index(
            manager,
            D::Table,
            [D::MerchantId, D::Status, D::CreatedAt],
            false,
        )
        .await?;
        create_index(
            manager,
            D::Table,
            [D::MerchantId, D::EventType, D::CreatedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    MerchantId,
    EventId,
    EventType,
    Payload,
    Status,
    AttemptCount,
    NextAttemptAt,
    RedeliveryRequested,
    LastStatusCode,
    LastError,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
}
