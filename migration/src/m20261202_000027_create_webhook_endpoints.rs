//! Creates `webhook_endpoints`: where a merchant wants its events sent (one per merchant).

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
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(uuid(WebhookEndpoints::MerchantId))
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(text(WebhookEndpoints::EventTypes))
                    .col(text(WebhookEndpoints::Secret))
                    .col(text_null(WebhookEndpoints::PreviousSecret))
                    .col(big_integer_null(WebhookEndpoints::PreviousSecretExpiresAt))
                    .col(string_len(WebhookEndpoints::Status, 16))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(big_integer_null(WebhookEndpoints::FailingSince))
                    .col(big_integer(WebhookEndpoints::CreatedAt))
                    .col(big_integer(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut foreign_key(
                        WebhookEndpoints::Table,
                        WebhookEndpoints::MerchantId,
                        Merchants::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            WebhookEndpoints::Table,
            [WebhookEndpoints::MerchantId],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    MerchantId,
    Url,
    EventTypes,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    Status,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
}
