//! Who is calling: principals and the credentials that prove them.

pub mod api_key;
pub mod jwt;
pub mod oauth;
pub mod password;
pub mod principal;
pub mod secret;
pub mod session;
pub mod signed_return;
pub mod signing;
pub mod staff;
pub mod throttle;
pub mod totp;

pub use principal::{ClientIp, MerchantPrincipal, Principal};
