//! Webhooks on their way out: the relay queues one delivery per endpoint and event
//! ([`fanout`]), and a job POSTs the due ones, signed, retrying with backoff and disabling
//! an endpoint that fails for the whole retry window ([`delivery`]) through a client that
//! refuses non-public addresses when configured to ([`sender`]).

pub mod delivery;
pub mod fanout;
pub mod sender;

pub use delivery::{DeliveryReport, deliver_due};
pub use sender::WebhookSender;
