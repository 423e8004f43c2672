//! The in-process event bus: relayed events fan out to every live subscription,
//! committed outbox rows wake the relay, and queued webhook deliveries wake their sender.

use std::sync::{Arc, OnceLock};

use tokio::sync::{Notify, broadcast, mpsc};

use super::PublishedEvent;

/// How many events a slow subscriber may fall behind before it misses some.
const CAPACITY: usize = 1024;

/// Fans relayed events out to every live subscription.
#[derive(Debug, Clone)]
pub struct EventBus {
    events: broadcast::Sender<Arc<PublishedEvent>>,
    written: Arc<Notify>,
    queued: Arc<Notify>,
    /// Where events also go for other instances, once a broker is attached.
    remote: Arc<OnceLock<mpsc::Sender<Arc<PublishedEvent>>>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            events: broadcast::channel(CAPACITY).0,
            written: Arc::new(Notify::new()),
            queued: Arc::new(Notify::new()),
            remote: Arc::new(OnceLock::new()),
        }
    }
}

impl EventBus {
    /// Hands a relayed event to every listener of this instance and, with a broker, of
    /// every other instance; nobody listening is fine.
    pub fn publish(&self, event: PublishedEvent) {
        let event = Arc::new(event);
        if let Some(remote) = self.remote.get()
            && remote.try_send(event.clone()).is_err()
        {
            tracing::warn!(event_id = %event.id, "too many events waiting for other instances; this one is not sent to them");
        }
        let _ = self.events.send(event);
    }

    /// Hands an event another instance relayed to this instance's listeners.
    pub fn publish_local(&self, event: PublishedEvent) {
        let _ = self.events.send(Arc::new(event));
    }

    /// Sends events to other instances through `remote` from now on; false if a broker
    /// was attached already.
    pub fn attach_remote(&self, remote: mpsc::Sender<Arc<PublishedEvent>>) -> bool {
        self.remote.set(remote).is_ok()
    }

    /// Receives relayed events from now on. An event may arrive twice (delivery is at
    /// least once): listeners drop ids they have seen.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PublishedEvent>> {
        self.events.subscribe()
    }

    /// How many subscriptions listen now.
    pub fn listeners(&self) -> usize {
        self.events.receiver_count()
    }

    /// Tells the relay that new outbox rows committed.
    pub fn outbox_written(&self) {
        self.written.notify_one();
    }

    /// Waits until [`EventBus::outbox_written`] is called (or returns at once if it was
    /// called since the last wait).
    pub async fn wait_for_writes(&self) {
        self.written.notified().await;
    }

    /// Tells the webhook sender that deliveries are due.
    pub fn deliveries_queued(&self) {
        self.queued.notify_one();
    }

    /// Waits until [`EventBus::deliveries_queued`] is called (or returns at once if it was
    /// called since the last wait).
    pub async fn wait_for_deliveries(&self) {
        self.queued.notified().await;
    }
}
