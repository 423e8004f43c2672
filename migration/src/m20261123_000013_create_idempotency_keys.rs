//! Creates `idempotency_keys`.

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
                    .table(IdempotencyKeys::Table)
                    .col(pk_uuid(IdempotencyKeys::Id))
                    .col(string_len(IdempotencyKeys::Principal, 80))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::Operation, 64))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(string_len(IdempotencyKeys::Status, 32))
                    .col(text_null(IdempotencyKeys::Response))
                    .col(big_integer(IdempotencyKeys::CreatedAt))
                    .col(big_integer(IdempotencyKeys::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            IdempotencyKeys::Table,
            [IdempotencyKeys::Principal, IdempotencyKeys::Key],
            true,
        )
        .await?;
        create_index(
            manager,
            IdempotencyKeys::Table,
            [IdempotencyKeys::ExpiresAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Principal,
    Key,
    Operation,
    RequestHash,
    Status,
    Response,
    CreatedAt,
    ExpiresAt,
}
