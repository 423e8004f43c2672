//! sea-orm entities of paylater, one module per table.
//!
//! Entities are storage rows only: they carry no logic, no validation and no
//! sea-orm relations (related rows are loaded through DataLoaders). Statuses,
//! kinds, roles, scopes and currencies are typed with the domain's vocabularies
//! (stored as their names in string columns, so a row arrives typed and a name
//! the domain does not know is a read error), money is `i64` minor units, and
//! every timestamp is a
//! `sea_orm::prelude::ChronoUnixTimestampMillis` (BIGINT milliseconds).

pub mod api_key;
pub mod audit_log;
pub mod checkout;
pub mod checkout_item;
pub mod consumer;
pub mod consumer_session;
pub mod idempotency_key;
pub mod installment;
pub mod merchant;
pub mod merchant_plan_setting;
pub mod mfa_recovery_code;
pub mod order;
pub mod outbox_event;
pub mod payment;
pub mod payment_attempt;
pub mod payment_method;
pub mod plan;
pub mod refresh_token;
pub mod refund;
pub mod staff_member;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
