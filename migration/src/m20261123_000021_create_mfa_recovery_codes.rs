//! Creates `mfa_recovery_codes`: single-use codes, stored hashed, that stand in for a TOTP
//! code when the authenticator is lost.

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
                    .table(MfaRecoveryCodes::Table)
                    .col(pk_uuid(MfaRecoveryCodes::Id))
                    .col(uuid(MfaRecoveryCodes::ConsumerId))
                    .col(string_len(MfaRecoveryCodes::CodeHash, 64))
                    .col(big_integer(MfaRecoveryCodes::CreatedAt))
                    .col(big_integer_null(MfaRecoveryCodes::UsedAt))
                    .foreign_key(&mut foreign_key(
                        MfaRecoveryCodes::Table,
                        MfaRecoveryCodes::ConsumerId,
                        Consumers::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            MfaRecoveryCodes::Table,
            [MfaRecoveryCodes::ConsumerId, MfaRecoveryCodes::CodeHash],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MfaRecoveryCodes::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MfaRecoveryCodes {
    Table,
    Id,
    ConsumerId,
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
}
