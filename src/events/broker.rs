//! Fan-out between instances over Redis pub/sub, so a subscription hears every event
//! whichever instance relayed it, and every instance forgets cached data another changed.
//! Optional: without `redis_url` each instance's subscriptions hear the events it relays
//! itself, which is all of them on one instance, and caches of other instances expire
//! within their time to live.
//!
//! The relaying instance hands an event to its own subscriptions at once and publishes it
//! on the channel; every instance forwards what others published to its own. Cache
//! changes travel the same way ([`crate::service::caches`]). A lost connection is
//! re-opened with growing waits; events published meanwhile are not heard there
//! (subscriptions stay open; webhooks do not depend on this path), and since cache
//! changes may have been missed too, the instance then forgets all it cached.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::{sync::mpsc, task::JoinHandle};
use uuid::Uuid;

use super::{EventBus, PublishedEvent};
use crate::service::{CacheChange, SharedCaches, caches};

/// How many events may wait to be published before new ones are dropped (and logged).
const BACKLOG: usize = 10_000;
/// The longest wait before connecting again.
const LONGEST_RECONNECT: Duration = Duration::from_secs(30);

/// A message on the channel, with the instance that sent it.
#[derive(Serialize, Deserialize)]
struct Wire {
    origin: Uuid,
    #[serde(flatten)]
    message: Message,
}

/// What instances tell each other: `{"event": …}` or `{"cache": …}` beside `origin`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Message {
    /// An event relayed by the sender.
    Event(PublishedEvent),
    /// Cached data the sender changed.
    Cache(CacheChange),
}

/// The running fan-out: the tasks publishing and listening.
pub struct Broker {
    publisher: JoinHandle<()>,
    listener: JoinHandle<()>,
}

impl Broker {
    /// Connects to Redis, subscribes to `channel` and attaches to `bus` and `caches`: from
    /// then on the bus's events and the caches' changes go to every instance, and theirs
    /// come here. Fails if Redis cannot be reached now.
    pub async fn start(
        bus: &EventBus,
        caches: &SharedCaches,
        url: &str,
        channel: &str,
    ) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let origin = Uuid::now_v7();
        let pubsub = subscribed(&client, channel).await?;
        let connection = redis::aio::ConnectionManager::new(client.clone()).await?;
        let (outgoing, events) = mpsc::channel(BACKLOG);
        if !bus.attach_remote(outgoing) {
            tracing::warn!("this event bus already has a broker; the new one only listens");
        }
        let (outgoing, changes) = mpsc::channel(caches::BACKLOG);
        if !caches.attach_others(outgoing) {
            tracing::warn!("these caches already have a broker; the new one only listens");
        }
        let sending = Sending {
            connection,
            channel: channel.to_owned(),
            origin,
        };
        let publisher = tokio::spawn(publish(sending, events, changes));
        let listener = tokio::spawn(listen(
            client,
            pubsub,
            channel.to_owned(),
            origin,
            (bus.clone(), caches.clone()),
        ));
        Ok(Self {
            publisher,
            listener,
        })
    }

    /// Stops publishing and listening.
    pub fn stop(&self) {
        self.publisher.abort();
        self.listener.abort();
    }
}

async fn subscribed(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// Where this instance publishes, and as whom.
struct Sending {
    connection: redis::aio::ConnectionManager,
    channel: String,
    origin: Uuid,
}

impl Sending {
    /// Publishes one message; a failure is logged and the message skipped.
    async fn send(&mut self, message: Message) {
        let wire = Wire {
            origin: self.origin,
            message,
        };
        let Ok(payload) = serde_json::to_string(&wire) else {
            return;
        };
        let sent: redis::RedisResult<usize> = self.connection.publish(&self.channel, payload).await;
        if let Err(err) = sent {
            tracing::warn!(error = %err, "could not publish to other instances");
        }
    }
}

/// Publishes the bus's events and the caches' changes, each in order, until both end.
async fn publish(
    mut sending: Sending,
    mut events: mpsc::Receiver<Arc<PublishedEvent>>,
    mut changes: mpsc::Receiver<CacheChange>,
) {
    loop {
        let message = tokio::select! {
            Some(event) = events.recv() => Message::Event((*event).clone()),
            Some(change) = changes.recv() => Message::Cache(change),
            else => return,
        };
        sending.send(message).await;
    }
}

/// Forwards other instances' events to the bus and applies their cache changes,
/// reconnecting when the connection drops (and then forgetting all that is cached).
async fn listen(
    client: redis::Client,
    first: redis::aio::PubSub,
    channel: String,
    origin: Uuid,
    (bus, caches): (EventBus, SharedCaches),
) {
    let mut pubsub = Some(first);
    let mut wait = Duration::from_secs(1);
    loop {
        let connection = match pubsub.take() {
            Some(connection) => connection,
            None => match subscribed(&client, &channel).await {
                Ok(connection) => {
                    tracing::info!("listening to other instances' events again");
                    caches.forget_all();
                    wait = Duration::from_secs(1);
                    connection
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot reach Redis for other instances' events; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(LONGEST_RECONNECT);
                    continue;
                }
            },
        };
        let mut messages = connection.into_on_message();
        while let Some(message) = messages.next().await {
            match serde_json::from_slice::<Wire>(message.get_payload_bytes()) {
                Ok(wire) if wire.origin == origin => {}
                Ok(Wire {
                    message: Message::Event(event),
                    ..
                }) => bus.publish_local(event),
                Ok(Wire {
                    message: Message::Cache(change),
                    ..
                }) => caches.forget(&change).await,
                Err(err) => tracing::warn!(error = %err, "ignoring an unreadable event from Redis"),
            }
        }
        tracing::warn!("lost the Redis connection for other instances' events; reconnecting");
    }
}
