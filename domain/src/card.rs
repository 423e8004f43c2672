//! Card numbers as the sandbox tokenizer checks them: Luhn checksum, brand from the
//! number's prefix, expiry. Real card data never reaches paylater outside the sandbox.

use chrono::{Datelike, NaiveDate};

/// A card network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardBrand {
    /// Visa (4…).
    Visa,
    /// Mastercard (51–55…, 2221–2720…).
    Mastercard,
    /// American Express (34…, 37…).
    Amex,
    /// Any other network.
    Other,
}

impl CardBrand {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visa => "VISA",
            Self::Mastercard => "MASTERCARD",
            Self::Amex => "AMEX",
            Self::Other => "OTHER",
        }
    }

    /// The brand of a stored name; unknown names are `Other`.
    pub fn parse(name: &str) -> Self {
        [Self::Visa, Self::Mastercard, Self::Amex]
            .into_iter()
            .find(|brand| brand.as_str() == name)
            .unwrap_or(Self::Other)
    }

    /// The brand of a card number, by its prefix.
    pub fn of(number: &str) -> Self {
        let prefix = |n: usize| number.get(..n).and_then(|p| p.parse::<u32>().ok());
        match (prefix(1), prefix(2), prefix(4)) {
            (Some(4), _, _) => Self::Visa,
            (_, Some(34 | 37), _) => Self::Amex,
            (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => Self::Mastercard,
            _ => Self::Other,
        }
    }
}

/// Why card details are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Not 12 to 19 digits, or the checksum fails.
    #[error("the card number is not valid")]
    InvalidNumber,
    /// Month outside 1–12, or a year before 2000 or after 2100.
    #[error("the expiry date is not valid")]
    InvalidExpiry,
    /// The card expired.
    #[error("the card has expired")]
    Expired,
    /// Not 3 or 4 digits.
    #[error("the security code is not valid")]
    InvalidCvc,
}

/// A card number's digits, spaces and dashes removed, if it passes the Luhn check.
pub fn normalize_number(number: &str) -> Result<String, CardError> {
    let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(CardError::InvalidNumber);
    }
    if luhn(&digits) {
        Ok(digits)
    } else {
        Err(CardError::InvalidNumber)
    }
}

/// The Luhn (mod 10) checksum of a string of ASCII digits.
pub fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Checks an expiry (month and four-digit year): valid through the month's last day.
pub fn check_expiry(month: i32, year: i32, today: NaiveDate) -> Result<(), CardError> {
    if !(1..=12).contains(&month) || !(2000..=2100).contains(&year) {
        return Err(CardError::InvalidExpiry);
    }
    if (year, month) < (today.year(), i32::try_from(today.month()).unwrap_or(12)) {
        return Err(CardError::Expired);
    }
    Ok(())
}

/// Checks a security code's shape.
pub fn check_cvc(cvc: &str) -> Result<(), CardError> {
    if (3..=4).contains(&cvc.len()) && cvc.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CardError::InvalidCvc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked_and_branded() {
        assert_eq!(
            normalize_number("4242 4242 4242 4242").unwrap(),
            "4242424242424242"
        );
        assert_eq!(
            normalize_number("4242424242424241"),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(normalize_number("4242-abc"), Err(CardError::InvalidNumber));
        assert_eq!(CardBrand::of("4242424242424242"), CardBrand::Visa);
        assert_eq!(CardBrand::of("5555555555554444"), CardBrand::Mastercard);
        assert_eq!(CardBrand::of("2223003122003222"), CardBrand::Mastercard);
        assert_eq!(CardBrand::of("378282246310005"), CardBrand::Amex);
        assert_eq!(CardBrand::of("6011111111111117"), CardBrand::Other);
        assert_eq!(CardBrand::parse("AMEX"), CardBrand::Amex);
    }

    #[test]
    fn expiry_and_cvc() {
        let today = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        assert_eq!(check_expiry(1, 2027, today), Ok(()));
        assert_eq!(check_expiry(12, 2026, today), Err(CardError::Expired));
        assert_eq!(check_expiry(13, 2027, today), Err(CardError::InvalidExpiry));
        assert_eq!(check_cvc("123"), Ok(()));
        assert_eq!(check_cvc("12a"), Err(CardError::InvalidCvc));
    }
}
