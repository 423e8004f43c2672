//! Creates `consumers`.

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
                    .table(Consumers::Table)
                    .col(pk_uuid(Consumers::Id))
                    .col(string_len(Consumers::Email, 320))
                    .col(string_len_null(Consumers::GivenName, 100))
                    .col(string_len_null(Consumers::FamilyName, 100))
                    .col(string_len_null(Consumers::Phone, 32))
                    .col(string_len_null(Consumers::PasswordHash, 255))
                    .col(big_integer(Consumers::SpendingLimitMinor))
                    .col(string_len(Consumers::Currency, 3))
                    .col(string_len(Consumers::Status, 32))
                    .col(big_integer(Consumers::CreatedAt))
                    .col(big_integer(Consumers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        create_index(manager, Consumers::Table, [Consumers::Email], true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Consumers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
    Id,
    Email,
    GivenName,
    FamilyName,
    Phone,
    PasswordHash,
    SpendingLimitMinor,
    Currency,
    Status,
    CreatedAt,
    UpdatedAt,
}
