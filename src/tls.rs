//! TLS for the whole process: ring is the one rustls provider compiled in, for the HTTPS
//! server and for the outbound clients (webhooks, Stripe).

/// Makes ring the process's TLS provider; installing it again changes nothing.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
