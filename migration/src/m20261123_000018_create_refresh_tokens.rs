//! Creates `refresh_tokens`: every refresh token a session was given, stored hashed. A spent
//! token stays, so its reuse can be recognised and the session revoked.

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
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::SessionId))
                    .col(string_len(RefreshTokens::TokenHash, 64))
                    .col(big_integer(RefreshTokens::CreatedAt))
                    .col(big_integer_null(RefreshTokens::SpentAt))
                    .foreign_key(&mut foreign_key(
                        RefreshTokens::Table,
                        RefreshTokens::SessionId,
                        ConsumerSessions::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            RefreshTokens::Table,
            [RefreshTokens::TokenHash],
            true,
        )
        .await?;
        create_index(
            manager,
            RefreshTokens::Table,
            [RefreshTokens::SessionId],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    SessionId,
    TokenHash,
    CreatedAt,
    SpentAt,
}

#[derive(DeriveIden)]
enum ConsumerSessions {
    Table,
}
