//! paylater: a GraphQL checkout API for buy-now-pay-later payments.
//!
//! Layout, from the top floor down; a module imports only from the floors below it:
//! - [`server`]: runs paylater: the application, Redis, the background jobs and the HTTP
//!   server until shutdown (`main.rs` parses the command line and calls it); beside it
//!   [`healthcheck`], the probe a container runtime runs against it.
//! - [`http`]: the axum router from the application's state (GraphQL over HTTP and
//!   WebSocket, the playground, the hosted checkout page, OAuth, health, the sandbox's
//!   helpers) and serving it, over TLS if asked.
//! - [`app`]: builds the application once at start (services, gateway, keys, schema).
//! - [`graphql`]: the schema; resolvers parse input, call a service and map the result.
//!   Beside it, on the same services: [`jobs`], the background work (expiry,
//!   reconciliation, collection, the outbox relay and webhook delivery); [`demo`], the
//!   development demo data; [`synthetic`], data at volume for the benchmark and the index
//!   checks.
//! - [`service`]: use cases over the database, with their caches; money moves as payment
//!   attempts in three steps ([`service::attempts`]), and every change (each phase of
//!   them too) is one [`service::unit_of_work`]: writes, audit entries and events together.
//! - [`events`]: published events, the in-process bus, the Redis
//!   broker, envelopes and the webhook sender; [`payments`]: the card gateways (the
//!   sandbox and Stripe); [`config`]: typed configuration.
//! - [`auth`]: principals, keys and tokens; [`ids`]: global IDs, the wire format of
//!   identity; [`encryption`], [`db`], [`clock`], [`tls`]: the low plumbing.
//!
//! Below all of it, crates of their own: entities (`entity`), the rows as stored, typed
//! with the vocabularies of [`domain`], the pure business rules (money, plans, schedules,
//! checkout validation, refunds, risk, and the statuses, kinds and currencies rows store);
//! and migrations (`migration`). The benchmark (`bench`) is a crate above it.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub use domain;
pub mod encryption;
pub mod events;
pub mod graphql;
pub mod healthcheck;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod payments;
pub mod server;
pub mod service;
pub mod synthetic;
pub mod tls;
