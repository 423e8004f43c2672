//! paylater: a GraphQL checkout API for buy-now-pay-later payments.
//!
//! Layout, outside in:
//! - [`http`]: the axum routes (GraphQL over HTTP and WebSocket, health checks).
//! - [`graphql`]: the schema; resolvers parse input, call a service and map the result.
//! - [`service`]: use cases over the database; each money operation is one transaction.
//! - [`domain`]: pure business rules (money, plans, schedules, checkout validation).
//! - [`auth`]: principals and merchant API keys.
//! - [`events`]: change notifications for subscriptions; [`jobs`]: background work.
//! - [`app`], [`config`], [`db`], [`clock`], [`demo`]: wiring, configuration and start-up;
//!   [`synthetic`]: data at volume for the benchmark and the index checks.
//!
//! Dependencies point inwards: `http`/`graphql` → `service` → `domain` + `entity`.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod encryption;
pub mod events;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod payments;
pub mod server;
pub mod service;
pub mod synthetic;
pub mod tls;
