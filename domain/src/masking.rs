//! Masks a shopper's personal data for support staff: enough is left to recognise a
//! shopper who is on the phone ("the email starting with m, at a .com domain, the phone
//! ending in 67"), too little to contact or impersonate them.

use super::checkout::{Address, ShopperData, ShopperHints};

const MASK: &str = "***";

/// The first `keep` characters and a mask; only the mask when the value is no longer than
/// what would be kept, so a short value is never shown whole.
pub fn keep_start(value: &str, keep: usize) -> String {
    if value.chars().count() <= keep {
        return MASK.to_owned();
    }
    value.chars().take(keep).chain(MASK.chars()).collect()
}

/// A name, street or other free text: its first character.
pub fn text(value: &str) -> String {
    keep_start(value.trim(), 1)
}

/// `mario.rossi@example.com` → `m***@e***.com`: first letters and the top-level domain.
pub fn email(value: &str) -> String {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return text(value);
    };
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let tld = if tld.is_empty() {
        String::new()
    } else {
        format!(".{tld}")
    };
    format!("{}@{}{tld}", keep_start(local, 1), keep_start(host, 1))
}

/// `+393331234567` → `+39********67`: the first two digits and the last two.
pub fn phone(value: &str) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return MASK.to_owned();
    }
    let hidden = digits.len() - 4;
    let mut masked = String::from("+");
    masked.extend(&digits[..2]);
    masked.extend(std::iter::repeat_n('*', hidden));
    masked.extend(&digits[digits.len() - 2..]);
    masked
}

/// A checkout's shopper data as support sees it: city, region and country stay readable.
pub fn shopper_data(data: ShopperData) -> ShopperData {
    let hints = data.shopper;
    let mask = |value: Option<String>, how: fn(&str) -> String| value.as_deref().map(how);
    ShopperData {
        shopper: ShopperHints {
            email: mask(hints.email, email),
            given_name: mask(hints.given_name, text),
            family_name: mask(hints.family_name, text),
            phone: mask(hints.phone, phone),
        },
        shipping_address: data.shipping_address.map(|address| Address {
            name: mask(address.name, text),
            line1: text(&address.line1),
            line2: mask(address.line2, text),
            postal_code: address
                .postal_code
                .as_deref()
                .map(|code| keep_start(code, 2)),
            ..address
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_keep_only_a_hint() {
        assert_eq!(email("mario.rossi@example.com"), "m***@e***.com");
        assert_eq!(email("a@b.it"), "***@***.it");
        assert_eq!(email("no-at-sign"), "n***");
        assert_eq!(phone("+393331234567"), "+39********67");
        assert_eq!(phone("+123"), "***");
        assert_eq!(text("Via Roma 1"), "V***");
        assert_eq!(text("Ö"), "***");
        assert_eq!(keep_start("20121", 2), "20***");
        assert_eq!(text("Émile"), "É***");
    }

    proptest! {
        #[test]
        fn a_masked_value_never_holds_the_value(value in "[^*\\p{C}]{2,40}") {
            prop_assert!(!text(&value).contains(value.trim()) || value.trim().chars().count() < 2);
            prop_assert!(!email(&value).contains(&value));
            prop_assert!(!phone(&value).contains(&value));
        }
    }
}
