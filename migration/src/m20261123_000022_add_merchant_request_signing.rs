//! Adds `merchants.request_signing_secret`: when set (an encrypted envelope), every request
//! of the merchant must carry an HMAC signature made with it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .add_column(text_null(Merchants::RequestSigningSecret))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .drop_column(Merchants::RequestSigningSecret)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    RequestSigningSecret,
}
