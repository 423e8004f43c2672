//! Creates `consumer_sessions`: one per login, ended by logout, expiry or refresh-token reuse.

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
                    .table(ConsumerSessions::Table)
                    .col(pk_uuid(ConsumerSessions::Id))
                    .col(uuid(ConsumerSessions::ConsumerId))
                    .col(big_integer(ConsumerSessions::CreatedAt))
                    .col(big_integer(ConsumerSessions::ExpiresAt))
                    .col(big_integer_null(ConsumerSessions::RevokedAt))
                    .col(string_len_null(ConsumerSessions::RevokedReason, 32))
                    .foreign_key(&mut foreign_key(
                        ConsumerSessions::Table,
                        ConsumerSessions::ConsumerId,
                        Consumers::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            ConsumerSessions::Table,
            [ConsumerSessions::ConsumerId],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsumerSessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ConsumerSessions {
    Table,
    Id,
    ConsumerId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
}
