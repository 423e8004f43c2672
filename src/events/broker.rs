//! Fan-out between instances over Redis pub/sub, so a subscription hears every event
//! whichever instance relayed it. Optional: without `redis_url` each instance's
//! subscriptions hear the events it relays itself, which is all of them on one instance.
//!
//! The relaying instance hands an event to its own subscriptions at once and publishes it
//! on the channel; every instance forwards what others published to its own. A lost
//! connection is re-opened with growing waits; events published meanwhile are not heard
//! there (subscriptions stay open; webhooks do not depend on this path).

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::{sync::mpsc, task::JoinHandle};
use uuid::Uuid;

use super::{EventBus, PublishedEvent};

/// How many events may wait to be published before new ones are dropped (and logged).
const BACKLOG: usize = 10_000;
/// The longest wait before connecting again.
const LONGEST_RECONNECT: Duration = Duration::from_secs(30);

/// An event on the channel, with the instance that relayed it.
#[derive(Serialize, Deserialize)]
struct Wire {
    origin: Uuid,
    event: PublishedEvent,
}

/// The running fan-out: the tasks publishing and listening.
pub struct Broker {
    publisher: JoinHandle<()>,
    listener: JoinHandle<()>,
}

impl Broker {
    /// Connects to Redis, subscribes to `channel` and attaches to `bus`: from then on the
    /// bus's events go to every instance, and theirs come to it. Fails if Redis cannot
    /// be reached now.
    pub async fn start(bus: &EventBus, url: &str, channel: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let origin = Uuid::now_v7();
        let pubsub = subscribed(&client, channel).await?;
        let connection = redis::aio::ConnectionManager::new(client.clone()).await?;
        let (outgoing, pending) = mpsc::channel(BACKLOG);
        if !bus.attach_remote(outgoing) {
            tracing::warn!("this event bus already has a broker; the new one only listens");
        }
        let publisher = tokio::spawn(publish(connection, channel.to_owned(), origin, pending));
        let listener = tokio::spawn(listen(
            client,
            pubsub,
            channel.to_owned(),
            origin,
            bus.clone(),
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

/// Publishes the bus's events in order; a failure is logged and the event skipped.
async fn publish(
    mut connection: redis::aio::ConnectionManager,
    channel: String,
    origin: Uuid,
    mut pending: mpsc::Receiver<Arc<PublishedEvent>>,
) {
    while let Some(event) = pending.recv().await {
        let wire = Wire {
            origin,
            event: (*event).clone(),
        };
        let Ok(payload) = serde_json::to_string(&wire) else {
            continue;
        };
        let sent: redis::RedisResult<usize> = connection.publish(&channel, payload).await;
        if let Err(err) = sent {
            tracing::warn!(event_id = %event.id, error = %err, "could not publish an event to other instances");
        }
    }
}

/// Forwards other instances' events to the bus, reconnecting when the connection drops.
async fn listen(
    client: redis::Client,
    first: redis::aio::PubSub,
    channel: String,
    origin: Uuid,
    bus: EventBus,
) {
    let mut pubsub = Some(first);
    let mut wait = Duration::from_secs(1);
    loop {
        let connection = match pubsub.take() {
            Some(connection) => connection,
            None => match subscribed(&client, &channel).await {
                Ok(connection) => {
                    tracing::info!("listening to other instances' events again");
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
                Ok(wire) if wire.origin != origin => bus.publish_local(wire.event),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "ignoring an unreadable event from Redis"),
            }
        }
        tracing::warn!("lost the Redis connection for other instances' events; reconnecting");
    }
}
