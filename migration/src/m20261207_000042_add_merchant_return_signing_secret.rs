//! Adds `merchants.return_signing_secret`: the secret (an encrypted envelope) that signs
//! the outcome a shopper carries back to the merchant's confirm and cancel URLs. Null for
//! merchants created before it; the server makes one on first use.

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
                    .add_column(text_null(Merchants::ReturnSigningSecret))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .drop_column(Merchants::ReturnSigningSecret)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    ReturnSigningSecret,
}
