//! Events: what changed, told to whoever listens. Changes write outbox rows in their own
//! transaction ([`crate::service::outbox`]); the [`relay`] publishes them, in order, to the
//! in-process [`bus`] that subscriptions listen to.

pub mod bus;
pub mod relay;

pub use bus::{CheckoutChanged, EventBus};
pub use relay::PublishedEvent;
