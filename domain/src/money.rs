//! Amounts of money as integer minor units tagged with their currency.

use std::fmt;

use rust_decimal::Decimal;

use super::currency::Currency;

/// Why a money operation could not produce an exact amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The amount has more decimal places than the currency's minor unit allows.
    #[error("{currency} amounts allow at most {max_decimals} decimal places")]
    TooPrecise {
        /// The currency the amount was meant for.
        currency: Currency,
        /// The currency's ISO 4217 exponent.
        max_decimals: u32,
    },
    /// The result does not fit in 64-bit minor units.
    #[error("amount is too large")]
    Overflow,
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency of the left-hand amount.
        expected: Currency,
        /// The currency of the right-hand amount.
        found: Currency,
    },
}

/// How an amount is written on the wire: digits with an optional leading `-` and an
/// optional `.` followed by digits. Nothing else: no exponent, no `+`, no spaces.
pub const PLAIN_DECIMAL_FORM: &str = "write amounts as digits with an optional leading '-' and an optional '.' followed by digits, e.g. \"129.90\" (no exponent, '+' sign or spaces)";

/// Why a text is not an amount in plain decimal form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalFormatError {
    /// Not digits with an optional leading `-` and `.`: an exponent, a `+`, spaces, or
    /// anything else.
    #[error("{PLAIN_DECIMAL_FORM}")]
    NotPlain,
    /// Plain, but with more digits than a decimal holds exactly (28 significant digits).
    #[error("an amount has at most 28 significant digits")]
    TooLong,
}

/// Reads an amount written in plain decimal form ([`PLAIN_DECIMAL_FORM`]): `"129.90"`,
/// `"-0.01"`, `"5"`. Exponents (`"1e3"`), a `+` sign, surrounding or inner whitespace, a
/// bare `.` (`".5"`, `"5."`) and anything else are refused, and so are numbers a decimal
/// cannot hold without rounding. Whether the amount has too many decimals for its
/// currency is [`Money::from_decimal`]'s to say.
pub fn parse_plain_decimal(text: &str) -> Result<Decimal, DecimalFormatError> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|fraction| !digits(fraction)) {
        return Err(DecimalFormatError::NotPlain);
    }
    Decimal::from_str_exact(text).map_err(|_| DecimalFormatError::TooLong)
}

/// An exact amount of money: integer minor units (cents, öre, …) in one currency, never floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Builds an amount from minor units (e.g. 1050 EUR cents = 10.50 EUR).
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Nothing, in the given currency; the start of a sum.
    pub fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    /// The amount in minor units, as stored.
    pub fn minor(self) -> i64 {
        self.minor
    }

    /// The currency the amount is in.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Converts a decimal amount in major units exactly, rejecting sub-minor-unit precision.
    pub fn from_decimal(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let exponent = currency.exponent();
        let normalized = amount.normalize();
        let scale = normalized.scale();
        if scale > exponent {
            return Err(MoneyError::TooPrecise {
                currency,
                max_decimals: exponent,
            });
        }
        let minor = 10_i128
            .checked_pow(exponent - scale)
            .and_then(|factor| normalized.mantissa().checked_mul(factor))
            .and_then(|minor| i64::try_from(minor).ok())
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, currency))
    }

    /// The amount in major units with exactly the currency's number of decimals.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }

    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Subtracts an amount of the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Multiplies by a quantity, e.g. a line item's unit price by its count.
    pub fn checked_mul(self, qty: i64) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(qty)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Whether the amount is above zero, as every payable amount must be.
    pub fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    /// Formats as "10.50 EUR".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn to_decimal_uses_currency_scale() {
        assert_eq!(
            Money::new(1050, Currency::Eur).to_decimal().to_string(),
            "10.50"
        );
        assert_eq!(Money::new(5, Currency::Isk).to_decimal().to_string(), "5");
        assert_eq!(
            Money::new(-1, Currency::Usd).to_decimal().to_string(),
            "-0.01"
        );
    }

    #[test]
    fn display() {
        assert_eq!(Money::new(1050, Currency::Eur).to_string(), "10.50 EUR");
        assert_eq!(Money::new(5, Currency::Isk).to_string(), "5 ISK");
        assert_eq!(Money::zero(Currency::Gbp).to_string(), "0.00 GBP");
    }

    #[test]
    fn from_decimal_exact() {
        let eur = Currency::Eur;
        assert_eq!(
            Money::from_decimal(dec("10.5"), eur),
            Ok(Money::new(1050, eur))
        );
        assert_eq!(
            Money::from_decimal(dec("10.50"), eur),
            Ok(Money::new(1050, eur))
        );
        assert_eq!(
            Money::from_decimal(dec("10.500"), eur),
            Ok(Money::new(1050, eur))
        );
        assert_eq!(
            Money::from_decimal(dec("10"), eur),
            Ok(Money::new(1000, eur))
        );
        assert_eq!(
            Money::from_decimal(dec("-0.01"), eur),
            Ok(Money::new(-1, eur))
        );
        assert_eq!(Money::from_decimal(dec("0.000"), eur), Ok(Money::zero(eur)));
    }

    #[test]
    fn from_decimal_too_precise() {
        assert_eq!(
            Money::from_decimal(dec("10.505"), Currency::Eur),
            Err(MoneyError::TooPrecise {
                currency: Currency::Eur,
                max_decimals: 2
            })
        );
        assert_eq!(
            Money::from_decimal(dec("5.5"), Currency::Isk),
            Err(MoneyError::TooPrecise {
                currency: Currency::Isk,
                max_decimals: 0
            })
        );
    }

    #[test]
    fn from_decimal_isk() {
        let isk = Currency::Isk;
        assert_eq!(Money::from_decimal(dec("5"), isk), Ok(Money::new(5, isk)));
        assert_eq!(
            Money::from_decimal(dec("5.00"), isk),
            Ok(Money::new(5, isk))
        );
        assert_eq!(
            Money::from_decimal(dec("1200"), isk),
            Ok(Money::new(1200, isk))
        );
    }

    #[test]
    fn from_decimal_overflow() {
        assert_eq!(
            Money::from_decimal(Decimal::MAX, Currency::Eur),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_decimal(Decimal::MIN, Currency::Isk),
            Err(MoneyError::Overflow)
        );
        // i64::MAX cents is fine, one more cent is not.
        let max = Money::new(i64::MAX, Currency::Eur).to_decimal();
        assert_eq!(
            Money::from_decimal(max, Currency::Eur),
            Ok(Money::new(i64::MAX, Currency::Eur))
        );
        assert_eq!(
            Money::from_decimal(max + dec("0.01"), Currency::Eur),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn arithmetic() {
        let a = Money::new(1050, Currency::Eur);
        let b = Money::new(250, Currency::Eur);
        assert_eq!(a.checked_add(b), Ok(Money::new(1300, Currency::Eur)));
        assert_eq!(b.checked_sub(a), Ok(Money::new(-800, Currency::Eur)));
        assert_eq!(a.checked_mul(3), Ok(Money::new(3150, Currency::Eur)));
        assert_eq!(
            Money::new(i64::MAX, Currency::Eur).checked_add(Money::new(1, Currency::Eur)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(i64::MIN, Currency::Eur).checked_sub(Money::new(1, Currency::Eur)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(i64::MAX, Currency::Eur).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            a.checked_add(Money::new(1, Currency::Usd)),
            Err(MoneyError::CurrencyMismatch {
                expected: Currency::Eur,
                found: Currency::Usd
            })
        );
        assert_eq!(
            a.checked_sub(Money::new(1, Currency::Gbp)),
            Err(MoneyError::CurrencyMismatch {
                expected: Currency::Eur,
                found: Currency::Gbp
            })
        );
    }

    #[test]
    fn sign() {
        assert!(Money::new(1, Currency::Eur).is_positive());
        assert!(!Money::zero(Currency::Eur).is_positive());
        assert!(!Money::zero(Currency::Eur).is_negative());
        assert!(Money::new(-1, Currency::Eur).is_negative());
    }

    #[test]
    fn plain_decimals_are_read_exactly() {
        for (text, expected) in [
            ("129.90", dec("129.90")),
            ("5", dec("5")),
            ("0", dec("0")),
            ("-0.01", dec("-0.01")),
            ("007.50", dec("7.50")),
            ("10.500", dec("10.500")),
            ("92233720368547758.07", dec("92233720368547758.07")),
        ] {
            assert_eq!(parse_plain_decimal(text), Ok(expected), "{text}");
        }
        // The scale is kept as written, so precision is judged on the digits sent.
        assert_eq!(parse_plain_decimal("10.500").unwrap().scale(), 3);
    }

    #[test]
    fn anything_but_a_plain_decimal_is_refused() {
        for text in [
            "1e3", "1E3", "1.5e2", "1e-2", "+5.00", " 5.00", "5.00 ", "5 .00", "5. 00", "\t5",
            "5\n", "", "-", ".", ".5", "5.", "-.5", "--5", "5-", "5.0.0", "1,000.00", "1_000",
            "0x10", "eighty", "NaN", "inf", "١٢", "５",
        ] {
            assert_eq!(
                parse_plain_decimal(text),
                Err(DecimalFormatError::NotPlain),
                "{text:?}"
            );
        }
        assert!(
            DecimalFormatError::NotPlain
                .to_string()
                .contains("no exponent, '+' sign or spaces")
        );
    }

    #[test]
    fn plain_decimals_a_decimal_cannot_hold_are_refused_not_rounded() {
        for text in [
            "99999999999999999999999999999999",
            "1.00000000000000000000000000000001",
            "0.00000000000000000000000000000001",
        ] {
            assert_eq!(
                parse_plain_decimal(text),
                Err(DecimalFormatError::TooLong),
                "{text}"
            );
        }
    }

    #[test]
    fn plain_decimals_with_more_decimals_than_the_currency_are_too_precise() {
        let read = |text: &str, currency| {
            Money::from_decimal(parse_plain_decimal(text).unwrap(), currency)
        };
        assert_eq!(
            read("5.00", Currency::Eur),
            Ok(Money::new(500, Currency::Eur))
        );
        assert_eq!(
            read("5.001", Currency::Eur),
            Err(MoneyError::TooPrecise {
                currency: Currency::Eur,
                max_decimals: 2
            })
        );
        assert_eq!(
            read("5.5", Currency::Isk),
            Err(MoneyError::TooPrecise {
                currency: Currency::Isk,
                max_decimals: 0
            })
        );
        assert_eq!(
            read("92233720368547758.08", Currency::Eur),
            Err(MoneyError::Overflow)
        );
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        proptest::sample::select(Currency::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn decimal_round_trip(minor in any::<i64>(), currency in any_currency()) {
            let money = Money::new(minor, currency);
            let decimal = money.to_decimal();
            prop_assert_eq!(decimal.scale(), currency.exponent());
            prop_assert_eq!(Money::from_decimal(decimal, currency), Ok(money));
        }

        #[test]
        fn written_amounts_read_back(minor in any::<i64>(), currency in any_currency()) {
            let money = Money::new(minor, currency);
            let written = money.to_decimal().to_string();
            let read = parse_plain_decimal(&written).map_err(|err| err.to_string());
            prop_assert_eq!(read.map(|d| Money::from_decimal(d, currency)), Ok(Ok(money)));
        }
    }
}
