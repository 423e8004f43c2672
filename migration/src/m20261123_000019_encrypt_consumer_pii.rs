//! Consumer PII becomes ciphertext: `email`, `given_name`, `family_name` and `phone` hold
//! AES-GCM envelopes written by the application, and `email_lookup` (a keyed hash of the
//! normalised email) replaces the unique index on `email`.
//!
//! Rows written before this migration hold clear text the application can no longer read;
//! only development data existed then (the demo consumer is recreated at the next start),
//! so they are removed, with their sessions and payment methods.

use crate::helpers::create_index;
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table(Consumers::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("uq_consumers_email")
                    .table(Consumers::Table)
                    .to_owned(),
            )
            .await?;
        // SQLite does not enforce declared lengths; MySQL needs room for the envelopes.
        if manager.get_database_backend() == DatabaseBackend::MySql {
            manager
                .alter_table(
                    Table::alter()
                        .table(Consumers::Table)
                        .modify_column(text(Consumers::Email))
                        .modify_column(text_null(Consumers::GivenName))
                        .modify_column(text_null(Consumers::FamilyName))
                        .modify_column(text_null(Consumers::Phone))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Consumers::Table)
                    .add_column(string_len(Consumers::EmailLookup, 64).default(""))
                    .to_owned(),
            )
            .await?;
        create_index(manager, Consumers::Table, [Consumers::EmailLookup], true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table(Consumers::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("uq_consumers_email_lookup")
                    .table(Consumers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Consumers::Table)
                    .drop_column(Consumers::EmailLookup)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DatabaseBackend::MySql {
            manager
                .alter_table(
                    Table::alter()
                        .table(Consumers::Table)
                        .modify_column(string_len(Consumers::Email, 320))
                        .modify_column(string_len_null(Consumers::GivenName, 100))
                        .modify_column(string_len_null(Consumers::FamilyName, 100))
                        .modify_column(string_len_null(Consumers::Phone, 32))
                        .to_owned(),
                )
                .await?;
        }
        create_index(manager, Consumers::Table, [Consumers::Email], true).await
    }
}

#[derive(DeriveIden)]
enum Consumers {
    Table,
    Email,
    GivenName,
    FamilyName,
    Phone,
    EmailLookup,
}
