//! `paylater healthcheck`: asks a running server whether it is up, for container runtimes
//! whose images carry no HTTP client of their own (a distroless image has no curl), so the
//! binary probes itself.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use anyhow::Context as _;

use crate::config::ServerConfig;

/// The liveness endpoint the probe asks by default (see `http::health::live`).
pub const LIVENESS_PATH: &str = "/healthz";

/// The server's liveness URL as seen from the same host: its configured listen address,
/// with an unspecified address (`0.0.0.0`, `[::]`, as containers bind) replaced by the
/// loopback address of the same family, over https when the server speaks TLS itself.
pub fn local_url(server: &ServerConfig) -> String {
    let scheme = if server.tls().is_some() {
        "https"
    } else {
        "http"
    };
    let ip = match server.listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let address = SocketAddr::new(ip, server.listen.port());
    format!("{scheme}://{address}{LIVENESS_PATH}")
}

/// GETs `url` and succeeds only on a 2xx answer within `timeout`, connection included.
///
/// The probe sends no credentials and reads nothing but the status, so it accepts any
/// certificate: a server with TLS of its own has a certificate for its public name, which
/// a probe of the loopback address could never verify. Proxies from the environment are
/// ignored, as the server is local.
pub async fn probe(url: &str, timeout: Duration) -> anyhow::Result<()> {
    crate::tls::install_provider();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{url} answered {status}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_url_reaches_the_listen_address_over_loopback() {
        let mut server = ServerConfig::default();
        assert_eq!(local_url(&server), "http://127.0.0.1:8080/healthz");
        server.listen = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(local_url(&server), "http://127.0.0.1:9000/healthz");
        server.listen = "[::]:9000".parse().unwrap();
        assert_eq!(local_url(&server), "http://[::1]:9000/healthz");
        server.listen = "10.0.0.5:8443".parse().unwrap();
        server.tls_cert_file = Some("cert.pem".into());
        server.tls_key_file = Some("key.pem".into());
        assert_eq!(local_url(&server), "https://10.0.0.5:8443/healthz");
    }
}
