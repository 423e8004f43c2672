//! Creates `staff_members`: the operator's admins and support agents, created from the
//! command line, each with a password hash and an encrypted TOTP secret (MFA is mandatory),
//! and the indexes that list the audit log by action, actor or target, newest first.

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
                    .table(StaffMembers::Table)
                    .col(pk_uuid(StaffMembers::Id))
                    .col(string_len(StaffMembers::Email, 254))
                    .col(string_len(StaffMembers::Role, 16))
                    .col(string_len(StaffMembers::PasswordHash, 255))
                    .col(text(StaffMembers::TotpSecret))
                    .col(big_integer_null(StaffMembers::TotpLastStep))
                    .col(big_integer(StaffMembers::CreatedAt))
                    .col(big_integer_null(StaffMembers::DisabledAt))
                    .to_owned(),
            )
            .await?;
        create_index(manager, StaffMembers::Table, [StaffMembers::Email], true).await?;
        for filter in [AuditLogs::Action, AuditLogs::ActorId, AuditLogs::TargetId] {
            create_index(
                manager,
                AuditLogs::Table,
                [filter, AuditLogs::CreatedAt, AuditLogs::Id],
                false,
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for filter in ["action", "actor_id", "target_id"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("idx_audit_logs_{filter}_created_at_id"))
                        .table(AuditLogs::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(StaffMembers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StaffMembers {
    Table,
    Id,
    Email,
    Role,
    PasswordHash,
    TotpSecret,
    TotpLastStep,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Action,
    ActorId,
    TargetId,
    CreatedAt,
    Id,
}
