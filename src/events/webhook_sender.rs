//! The HTTP client of webhooks: a timeout on every request, no redirects, no proxies, and
//! (when only public addresses may receive events) a resolver that drops private,
//! loopback and link-local addresses, so a host name cannot be pointed inside the network
//! after its endpoint was accepted.

use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue},
    redirect,
};

use crate::domain::webhook::{UrlPolicy, check_url, is_public};

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP status answered, if any.
    pub status_code: Option<u16>,
    /// Why it failed, when it did (a 2xx is a success).
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

impl Outcome {
    /// Answered with a 2xx.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// Resolves host names to their public addresses only.
struct PublicAddresses;

impl Resolve for PublicAddresses {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public(address.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Sends webhook requests. The client (and the system's trust roots it loads) is built at
/// the first request, so processes that send none never pay for it.
pub struct WebhookSender {
    client: OnceLock<Result<reqwest::Client, String>>,
    policy: UrlPolicy,
    timeout: Duration,
}

impl WebhookSender {
    /// A sender whose requests time out after `timeout` and whose URLs follow `policy`.
    pub fn new(policy: UrlPolicy, timeout: Duration) -> Self {
        Self {
            client: OnceLock::new(),
            policy,
            timeout,
        }
    }

    fn client(&self) -> Result<&reqwest::Client, &str> {
        self.client
            .get_or_init(|| {
                crate::tls::install_provider();
                let mut builder = reqwest::Client::builder()
                    .timeout(self.timeout)
                    .connect_timeout(self.timeout)
                    .redirect(redirect::Policy::none())
                    .no_proxy()
                    .user_agent(concat!("paylater-webhooks/", env!("CARGO_PKG_VERSION")));
                if self.policy.public_addresses_only {
                    builder = builder.dns_resolver(Arc::new(PublicAddresses));
                }
                builder.build().map_err(|err| {
                    tracing::error!(error = %err, "cannot build the webhook client");
                    format!("the webhook client is unavailable: {}", root_cause(&err))
                })
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// How long, on the wall clock, a claimed delivery is held before another sender may
    /// take it: longer than any request can take.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(60)
    }

    /// POSTs `body` as JSON with `headers`; never fails, the outcome says how it went.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: String,
    ) -> Outcome {
        let started = std::time::Instant::now();
        let finished = |status_code: Option<u16>, error: Option<String>| Outcome {
            status_code,
            error,
            duration: started.elapsed(),
        };
        if let Err(err) = check_url(url, self.policy) {
            return finished(None, Some(format!("the URL {err}")));
        }
        let client = match self.client() {
            Ok(client) => client,
            Err(err) => return finished(None, Some(err.to_owned())),
        };
        let mut header_map = HeaderMap::new();
        header_map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                header_map.insert(HeaderName::from_static(name), value);
            }
        }
        let sent = client.post(url).headers(header_map).body(body).send().await;
        match sent {
            Ok(response) if response.status().is_success() => {
                finished(Some(response.status().as_u16()), None)
            }
            Ok(response) => {
                let status = response.status();
                let reason = if status.is_redirection() {
                    format!(
                        "answered HTTP {} (redirects are not followed)",
                        status.as_u16()
                    )
                } else {
                    format!("answered HTTP {}", status.as_u16())
                };
                finished(Some(status.as_u16()), Some(reason))
            }
            Err(err) if err.is_timeout() => finished(
                None,
                Some(format!("no answer within {} s", self.timeout.as_secs())),
            ),
            Err(err) if err.is_connect() => finished(
                None,
                Some(format!("could not connect: {}", root_cause(&err))),
            ),
            Err(err) => finished(None, Some(format!("request failed: {}", root_cause(&err)))),
        }
    }
}

/// The innermost cause of an error, which says what actually went wrong.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
