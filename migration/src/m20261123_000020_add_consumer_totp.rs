//! Adds TOTP multi-factor authentication to `consumers`: the secret (an encrypted envelope),
//! when it was confirmed, and the last time step accepted (so a code cannot be replayed).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            text_null(Consumers::TotpSecret),
            big_integer_null(Consumers::TotpConfirmedAt),
            big_integer_null(Consumers::TotpLastStep),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Consumers::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Consumers::TotpSecret,
            Consumers::TotpConfirmedAt,
            Consumers::TotpLastStep,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Consumers::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Consumers {
    Table,
    TotpSecret,
    TotpConfirmedAt,
    TotpLastStep,
}
