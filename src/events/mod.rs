//! Events: what changed, told to whoever listens. Changes write outbox rows in their own
//! transaction ([`crate::service::outbox`]); the relay job ([`crate::jobs`]) publishes them,
//! in order, as [`PublishedEvent`]s to the in-process [`bus`] that subscriptions listen to
//! (and, through the optional Redis [`broker`], to every instance's), and queues their
//! webhooks, which the [`webhook_sender`] POSTs. [`crate::domain::event`] names every
//! kind; the [`envelope`] is what goes out.

pub mod broker;
pub mod bus;
pub mod envelope;
pub mod published;
pub mod webhook_sender;

pub use bus::EventBus;
pub use published::PublishedEvent;
pub use webhook_sender::WebhookSender;
