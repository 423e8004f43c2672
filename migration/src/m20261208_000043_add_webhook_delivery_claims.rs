//! Adds `webhook_deliveries.claimed_until`: until when (on the wall clock of the sender)
//! an attempt in flight holds its delivery. Kept apart from `next_attempt_at`, which is
//! business time and may be moved by the sandbox's test clock, so a claim stays exclusive
//! whatever time a sender runs as of. Also indexes finished deliveries by their last
//! change, for pruning them after their retention.

use crate::helpers::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The name `create_index` gives the pruning index.
const PRUNING_INDEX: &str = "idx_webhook_deliveries_status_updated_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .add_column(big_integer_null(WebhookDeliveries::ClaimedUntil))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            WebhookDeliveries::Table,
            [WebhookDeliveries::Status, WebhookDeliveries::UpdatedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(PRUNING_INDEX)
                    .table(WebhookDeliveries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .drop_column(WebhookDeliveries::ClaimedUntil)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Status,
    UpdatedAt,
    ClaimedUntil,
}
