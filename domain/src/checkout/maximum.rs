//! The largest total a checkout may have: the platform's maximum, which a merchant's own
//! maximum can only lower.

use std::fmt;

use crate::{Currency, Money};

/// The platform's maximum checkout total unless configured otherwise, in major units.
pub const DEFAULT_MAX_TOTAL_MAJOR: i64 = 1_000_000;

/// The largest platform maximum that may be configured, in major units.
pub const LARGEST_MAX_TOTAL_MAJOR: i64 = 1_000_000_000;

/// A maximum checkout total: a number of major units that applies in each checkout's own
/// currency (1 000 000 is 1 000 000.00 EUR, 1 000 000.00 GBP or 1 000 000 ISK). Held, and
/// stored for merchants, in hundredths of a major unit, which are the minor units of every
/// two-decimal currency: 100 000 000 is 1 000 000.00 EUR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaxTotal {
    hundredths: i64,
}

impl MaxTotal {
    /// A maximum of `major` whole units, or `None` when it is not positive or too large to
    /// hold.
    pub fn from_major(major: i64) -> Option<Self> {
        if major < 1 {
            return None;
        }
        major.checked_mul(100).map(|hundredths| Self { hundredths })
    }

    /// A maximum as stored: hundredths of a major unit.
    pub fn from_hundredths(hundredths: i64) -> Self {
        Self { hundredths }
    }

    /// The maximum in hundredths of a major unit, as stored.
    pub fn hundredths(self) -> i64 {
        self.hundredths
    }

    /// The maximum that applies to a merchant: the platform's (`self`), lowered by the
    /// merchant's own when it has one. A merchant's maximum never raises the platform's.
    pub fn lowered_by(self, merchant: Option<MaxTotal>) -> Self {
        merchant.map_or(self, |merchant| self.min(merchant))
    }

    /// The maximum as an amount of `currency`, rounded down to its smallest unit.
    pub fn in_currency(self, currency: Currency) -> Money {
        let minor = i128::from(self.hundredths) * 10_i128.pow(currency.exponent()) / 100;
        Money::new(i64::try_from(minor).unwrap_or(i64::MAX), currency)
    }
}

impl Default for MaxTotal {
    /// The platform default, [`DEFAULT_MAX_TOTAL_MAJOR`].
    fn default() -> Self {
        Self {
            hundredths: DEFAULT_MAX_TOTAL_MAJOR * 100,
        }
    }
}

impl fmt::Display for MaxTotal {
    /// Major units: `"1000000"`, or `"499.99"` for a stored maximum with a fraction.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, cents) = (self.hundredths / 100, (self.hundredths % 100).abs());
        if cents == 0 {
            write!(f, "{major}")
        } else {
            write!(f, "{major}.{cents:02}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_one_million_major_units_in_every_currency() {
        let max = MaxTotal::default();
        assert_eq!(
            max.in_currency(Currency::Eur),
            Money::new(100_000_000, Currency::Eur)
        );
        assert_eq!(max.in_currency(Currency::Gbp).minor(), 100_000_000);
        assert_eq!(
            max.in_currency(Currency::Isk),
            Money::new(1_000_000, Currency::Isk)
        );
        assert_eq!(max.to_string(), "1000000");
        assert_eq!(MaxTotal::from_major(DEFAULT_MAX_TOTAL_MAJOR), Some(max));
    }

    #[test]
    fn a_merchant_maximum_only_lowers_the_platform_one() {
        let platform = MaxTotal::default();
        let lower = MaxTotal::from_major(500).unwrap();
        let higher = MaxTotal::from_major(5_000_000).unwrap();
        assert_eq!(platform.lowered_by(None), platform);
        assert_eq!(platform.lowered_by(Some(lower)), lower);
        assert_eq!(platform.lowered_by(Some(higher)), platform);
        assert_eq!(lower.in_currency(Currency::Eur).minor(), 50_000);
        assert_eq!(lower.hundredths(), 50_000);
    }

    #[test]
    fn odd_maximums_round_down_and_never_overflow() {
        assert_eq!(MaxTotal::from_major(0), None);
        assert_eq!(MaxTotal::from_major(-1), None);
        assert_eq!(MaxTotal::from_major(i64::MAX), None);
        let stored = MaxTotal::from_hundredths(49_999);
        assert_eq!(stored.to_string(), "499.99");
        assert_eq!(stored.in_currency(Currency::Eur).minor(), 49_999);
        assert_eq!(stored.in_currency(Currency::Isk).minor(), 499);
        let huge = MaxTotal::from_hundredths(i64::MAX);
        assert_eq!(huge.in_currency(Currency::Eur).minor(), i64::MAX);
        let largest = MaxTotal::from_major(LARGEST_MAX_TOTAL_MAJOR).unwrap();
        assert_eq!(largest.in_currency(Currency::Eur).minor(), 100_000_000_000);
    }
}
