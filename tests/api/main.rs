//! Integration tests over real HTTP and WebSocket against a real database.
//! `cargo test` runs them on SQLite; with `TEST_DATABASE_URL=mysql://…` on MySQL/MariaDB.

mod api_keys;
mod auth;
mod authorization;
mod checkout_cancel;
mod checkout_create;
mod checkout_expiry;
mod checkout_list;
mod checkout_read;
mod cli;
mod consumers;
mod encryption;
mod fixtures;
mod helpers;
mod http_surface;
mod live_events;
mod logs;
mod mfa;
mod oauth;
mod order_confirm;
mod order_life;
mod order_lifecycle;
mod order_properties;
mod order_views;
mod outbox_relay;
mod payment_methods;
mod receiver;
mod request_signing;
mod sandbox;
mod schema;
mod staff;
mod statements;
mod subscription;
mod tls;
mod webhooks;
mod ws;
