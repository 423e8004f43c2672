//! Creates `merchants`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Merchants::Table)
                    .col(pk_uuid(Merchants::Id))
                    .col(string_len(Merchants::Name, 200))
                    .col(text_null(Merchants::WebsiteUrl))
                    .col(text_null(Merchants::LogoUrl))
                    .col(string_len_null(Merchants::SupportEmail, 320))
                    .col(string_len(Merchants::Status, 32))
                    .col(big_integer(Merchants::CreatedAt))
                    .col(big_integer(Merchants::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Merchants::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
    Name,
    WebsiteUrl,
    LogoUrl,
    SupportEmail,
    Status,
    CreatedAt,
    UpdatedAt,
}
