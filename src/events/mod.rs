//! Events: what changed, told to whoever listens. Changes write outbox rows in their own
//! transaction ([`crate::service::outbox`]); the [`relay`] publishes them, in order, to the
//! in-process [`bus`] that subscriptions listen to (and, through the optional Redis
//! [`broker`], to every instance's), and queues their [`webhooks`]. The
//! [`catalogue`] names every kind; the [`envelope`] is what goes out.

pub mod broker;
pub mod bus;
pub mod catalogue;
pub mod envelope;
pub mod relay;
pub mod webhooks;

pub use bus::EventBus;
pub use catalogue::EventType;
pub use relay::PublishedEvent;
