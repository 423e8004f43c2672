//! A merchant's side for tests, as real HTTP servers on local ports: the webhook receiver,
//! which records every request and answers as told, and the web shop shoppers come back
//! to, which records every page a browser opens on it.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: String,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// Serves `app` on a free local port for as long as the test runs; returns
/// `http://127.0.0.1:<port>`.
async fn serve_locally(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// How to answer the next request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// With this status.
    Status(u16),
    /// Only after this long (longer than the sender waits).
    Hang(Duration),
    /// With 200, once the test calls [`Receiver::release`]: the request stays in flight
    /// until then.
    Held,
}

struct Shared {
    received: Mutex<Vec<Received>>,
    answers: Mutex<VecDeque<Answer>>,
    always: Mutex<Option<u16>>,
    released: tokio::sync::watch::Sender<bool>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            received: Mutex::default(),
            answers: Mutex::default(),
            always: Mutex::default(),
            released: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// A running receiver.
pub struct Receiver {
    /// Where it listens, `http://127.0.0.1:<port>/hooks`.
    pub url: String,
    shared: Arc<Shared>,
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.received.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let answer = shared.answers.lock().unwrap().pop_front();
    let always = *shared.always.lock().unwrap();
    match answer {
        Some(Answer::Hang(wait)) => {
            tokio::time::sleep(wait).await;
            StatusCode::OK
        }
        Some(Answer::Held) => {
            let mut released = shared.released.subscribe();
            let _ = released.wait_for(|released| *released).await;
            StatusCode::OK
        }
        Some(Answer::Status(code)) => StatusCode::from_u16(code).unwrap(),
        None => StatusCode::from_u16(always.unwrap_or(200)).unwrap(),
    }
}

impl Receiver {
    /// Starts a receiver answering 200 to everything.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(shared.clone());
        let url = format!("{}/hooks", serve_locally(app).await);
        Self { url, shared }
    }

    /// Answers the next requests so, one each, then as before.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.answers.lock().unwrap().extend(answers);
    }

    /// Answers every request without a queued answer with `status`.
    pub fn always(&self, status: u16) {
        *self.shared.always.lock().unwrap() = Some(status);
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Answers the requests held by [`Answer::Held`].
    pub fn release(&self) {
        self.shared.released.send_replace(true);
    }

    /// Waits until `count` requests have arrived (at most ten seconds).
    pub async fn until_received(&self, count: usize) {
        let wait = async {
            while self.shared.received.lock().unwrap().len() < count {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("{count} requests never arrived"));
    }
}

/// A merchant's web shop: every page opened on it is recorded (path and query, as the
/// browser asked for it) and answered with a small page saying where the shopper is. It
/// has no icon.
pub struct Shop {
    /// Where it listens, `http://127.0.0.1:<port>`.
    pub base: String,
    visits: Arc<Mutex<Vec<String>>>,
}

async fn visit(State(visits): State<Arc<Mutex<Vec<String>>>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    if path == "/favicon.ico" {
        return StatusCode::NOT_FOUND.into_response();
    }
    visits.lock().unwrap().push(uri.to_string());
    Html(format!(
        "<!DOCTYPE html><title>Shop</title><h1>Back at the shop: {path}</h1>"
    ))
    .into_response()
}

impl Shop {
    /// Starts a shop answering every path.
    pub async fn start() -> Self {
        let visits = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/{*path}", get(visit))
            .with_state(visits.clone());
        let base = serve_locally(app).await;
        Self { base, visits }
    }

    /// The address of `path` (with its query) on the shop.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every page opened so far (path and query), in order.
    pub fn visits(&self) -> Vec<String> {
        self.visits.lock().unwrap().clone()
    }
}
