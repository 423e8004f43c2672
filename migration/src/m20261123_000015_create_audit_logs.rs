//! Creates `audit_logs`.

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
                    .table(AuditLogs::Table)
                    .col(pk_uuid(AuditLogs::Id))
                    .col(string_len(AuditLogs::ActorKind, 32))
                    .col(uuid_null(AuditLogs::ActorId))
                    .col(string_len(AuditLogs::Action, 64))
                    .col(string_len_null(AuditLogs::TargetType, 32))
                    .col(uuid_null(AuditLogs::TargetId))
                    .col(string_len_null(AuditLogs::Ip, 64))
                    .col(text_null(AuditLogs::Metadata))
                    .col(big_integer(AuditLogs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            AuditLogs::Table,
            [AuditLogs::CreatedAt, AuditLogs::Id],
            false,
        )
        .await?;
        create_index(
            manager,
            AuditLogs::Table,
            [AuditLogs::TargetType, AuditLogs::TargetId],
            false,
        )
        .await?;
        create_index(
            manager,
            AuditLogs::Table,
            [AuditLogs::ActorKind, AuditLogs::ActorId],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLogs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    ActorKind,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Ip,
    Metadata,
    CreatedAt,
}
