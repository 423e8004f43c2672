//! Payment methods get a default flag (one per consumer, chosen by the application) and
//! room for encrypted gateway tokens; refunds get the merchant's refund reference and the
//! gateway's reference of the money sent back.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Tokens written before encryption cannot be read any more; only development data
        // existed then.
        manager
            .exec_stmt(Query::delete().from_table(PaymentMethods::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentMethods::Table)
                    .add_column(boolean(PaymentMethods::IsDefault).default(false))
                    .to_owned(),
            )
            .await?;
        // SQLite does not enforce declared lengths; MySQL needs room for the envelope.
        if manager.get_database_backend() == DatabaseBackend::MySql {
            manager
                .alter_table(
                    Table::alter()
                        .table(PaymentMethods::Table)
                        .modify_column(text(PaymentMethods::GatewayToken))
                        .to_owned(),
                )
                .await?;
        }
        for column in [Refunds::MerchantRefundReference, Refunds::GatewayReference] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Refunds::Table)
                        .add_column(string_len_null(column, 255))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Refunds::MerchantRefundReference, Refunds::GatewayReference] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Refunds::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .exec_stmt(Query::delete().from_table(PaymentMethods::Table).to_owned())
            .await?;
        if manager.get_database_backend() == DatabaseBackend::MySql {
            manager
                .alter_table(
                    Table::alter()
                        .table(PaymentMethods::Table)
                        .modify_column(string_len(PaymentMethods::GatewayToken, 255))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentMethods::Table)
                    .drop_column(PaymentMethods::IsDefault)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
    GatewayToken,
    IsDefault,
}

#[derive(DeriveIden, Clone, Copy)]
enum Refunds {
    Table,
    MerchantRefundReference,
    GatewayReference,
}
