//! Who is calling: principals and the credentials that prove them.

pub mod api_key;
pub mod principal;
pub mod secret;

pub use principal::{MerchantPrincipal, Principal};
