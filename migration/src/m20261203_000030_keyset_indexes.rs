//! Indexes shaped for keyset pages: every filter of a list is an equality prefix followed
//! by the sort column and the id, so each page is read in index order and never sorted.
//! Replaces indexes the new ones cover or that no query used.

use crate::helpers::create_index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexes added, as (table, columns).
const ADDED: [(&str, &[&str]); 4] = [
    ("api_keys", &["merchant_id", "created_at", "id"]),
    ("webhook_deliveries", &["merchant_id", "created_at", "id"]),
    (
        "orders",
        &["merchant_id", "merchant_reference", "created_at", "id"],
    ),
    (
        "checkouts",
        &["merchant_id", "merchant_reference", "created_at", "id"],
    ),
];

/// The indexes dropped, as (table, name, columns), to restore on the way down.
const DROPPED: [(&str, &str, &[&str]); 6] = [
    ("api_keys", "idx_api_keys_merchant_id", &["merchant_id"]),
    (
        "webhook_deliveries",
        "idx_webhook_deliveries_merchant_id_created_at",
        &["merchant_id", "created_at"],
    ),
    (
        "orders",
        "idx_orders_merchant_id_merchant_reference",
        &["merchant_id", "merchant_reference"],
    ),
    (
        "checkouts",
        "idx_checkouts_merchant_id_merchant_reference",
        &["merchant_id", "merchant_reference"],
    ),
    (
        "audit_logs",
        "idx_audit_logs_actor_kind_actor_id",
        &["actor_kind", "actor_id"],
    ),
    (
        "audit_logs",
        "idx_audit_logs_target_type_target_id",
        &["target_type", "target_id"],
    ),
];

fn columns(names: &[&str]) -> Vec<Alias> {
    names.iter().map(|name| Alias::new(*name)).collect()
}

fn added_name(table: &str, names: &[&str]) -> String {
    format!("idx_{table}_{}", names.join("_"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // New indexes first: MySQL keeps an index a foreign key needs until another covers it.
        for (table, names) in ADDED {
            create_index(manager, Alias::new(table), columns(names), false).await?;
        }
        for (table, name, _) in DROPPED {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _, names) in DROPPED {
            create_index(manager, Alias::new(table), columns(names), false).await?;
        }
        for (table, names) in ADDED {
            manager
                .drop_index(
                    Index::drop()
                        .name(added_name(table, names))
                        .table(Alias::new(table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
