//! What subscriptions share: the relayed events as a stream without duplicates, and the
//! rules of a WebSocket connection (how many subscriptions it may hold, and that they end
//! when its credential expires).

use std::{
    collections::{HashSet, VecDeque},
    future::Future,
    pin::Pin,
    sync::Arc,
};

use async_graphql::{
    Context,
    futures_util::{Stream, StreamExt, stream},
};
use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast::error::RecvError};
use uuid::Uuid;

use super::errors::ErrorCode;
use crate::{events::PublishedEvent, service::Deps};

/// Most subscriptions one WebSocket connection may hold at once.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 20;

/// How many recent event ids a subscription remembers to drop a second delivery.
const REMEMBERED: usize = 2048;

/// One WebSocket connection: when its credential expires, and its free subscription slots.
#[derive(Debug, Clone)]
pub struct SocketSession {
    expires_at: Option<DateTime<Utc>>,
    slots: Arc<Semaphore>,
}

impl SocketSession {
    /// A connection whose credential expires at `expires_at` (never, for API keys and
    /// anonymous connections).
    pub fn new(expires_at: Option<DateTime<Utc>>) -> Self {
        Self {
            expires_at,
            slots: Arc::new(Semaphore::new(MAX_SUBSCRIPTIONS_PER_CONNECTION)),
        }
    }
}

/// What a subscription hears from the relay.
pub enum Heard {
    /// An event, never one heard before.
    Event(Arc<PublishedEvent>),
    /// The subscription fell behind and missed events.
    Missed,
}

/// The relayed events from now on, each once: the relay delivers at least once, so ids
/// already seen are dropped.
pub fn heard(deps: &Deps) -> impl Stream<Item = Heard> + Send + use<> {
    let start = (deps.events.subscribe(), Seen::default());
    stream::unfold(start, |(mut receiver, mut seen)| async move {
        loop {
            match receiver.recv().await {
                Ok(event) if seen.first_time(event.id) => {
                    return Some((Heard::Event(event), (receiver, seen)));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => return Some((Heard::Missed, (receiver, seen))),
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// The ids seen lately, forgetting the oldest past [`REMEMBERED`].
#[derive(Default)]
struct Seen {
    ids: HashSet<Uuid>,
    order: VecDeque<Uuid>,
}

impl Seen {
    fn first_time(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }
}

/// The items of `items` up to and including the first that `is_last` picks; the stream
/// then ends at once, without waiting for another item.
pub fn through_first<T, S>(items: S, is_last: fn(&T) -> bool) -> impl Stream<Item = T> + Send
where
    T: Send,
    S: Stream<Item = T> + Send,
{
    stream::unfold(
        (Box::pin(items), false),
        move |(mut items, ended)| async move {
            if ended {
                return None;
            }
            let item = items.next().await?;
            let ended = is_last(&item);
            Some((item, (items, ended)))
        },
    )
}

/// Binds a subscription's stream to its connection: it takes one of the connection's
/// slots (`RATE_LIMITED` when none is free) until it ends, and it ends with
/// `UNAUTHENTICATED` when the connection's credential expires.
pub fn on_connection<T, S>(
    ctx: &Context<'_>,
    deps: &Deps,
    items: S,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<T>> + Send + use<T, S>>
where
    T: Send + 'static,
    S: Stream<Item = async_graphql::Result<T>> + Send + 'static,
{
    let session = ctx.data_opt::<SocketSession>();
    let permit: Option<OwnedSemaphorePermit> = session
        .map(|session| {
            session.slots.clone().try_acquire_owned().map_err(|_| {
                ErrorCode::RateLimited.error(format!(
                    "a connection may hold at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions; end one first"
                ))
            })
        })
        .transpose()?;
    let expires_at = session.and_then(|session| session.expires_at);
    let clock = deps.clock.clone();
    let expiry: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
        let Some(expires_at) = expires_at else {
            return std::future::pending().await;
        };
        // Looks at the application's clock at least every second, so a moved test clock
        // ends the subscription as the wall clock would.
        while let Ok(left) = (expires_at - clock.now()).to_std() {
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left.min(std::time::Duration::from_secs(1))).await;
        }
    });
    let start = (Box::pin(items), expiry, permit, false);
    Ok(stream::unfold(
        start,
        |(mut items, mut expiry, permit, expired)| async move {
            if expired {
                return None;
            }
            tokio::select! {
                item = items.next() => item.map(|item| (item, (items, expiry, permit, false))),
                () = &mut expiry => Some((
                    Err(ErrorCode::Unauthenticated.error(
                        "the access token of this connection expired; reconnect with a fresh one",
                    )),
                    (items, expiry, permit, true),
                )),
            }
        },
    ))
}
