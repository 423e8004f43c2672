//! The ISO 4217 currencies paylater accepts, with their minor-unit exponents.

use std::fmt;
use std::str::FromStr;

/// The ISO 4217 currencies paylater accepts; anything else is rejected at the edge. Stored
/// as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum Currency {
    /// Euro.
    Eur,
    /// Pound sterling.
    Gbp,
    /// US dollar.
    Usd,
    /// Swiss franc.
    Chf,
    /// Swedish krona.
    Sek,
    /// Norwegian krone.
    Nok,
    /// Danish krone.
    Dkk,
    /// Polish złoty.
    Pln,
    /// Czech koruna.
    Czk,
    /// Hungarian forint.
    Huf,
    /// Romanian leu.
    Ron,
    /// Bulgarian lev.
    Bgn,
    /// Icelandic króna (no minor unit).
    Isk,
}

/// Returned when a string is not the code of a currency paylater accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a supported ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// Every accepted currency, for listing them to clients and iterating in tests.
    pub const ALL: [Currency; 13] = [
        Currency::Eur,
        Currency::Gbp,
        Currency::Usd,
        Currency::Chf,
        Currency::Sek,
        Currency::Nok,
        Currency::Dkk,
        Currency::Pln,
        Currency::Czk,
        Currency::Huf,
        Currency::Ron,
        Currency::Bgn,
        Currency::Isk,
    ];

    /// The uppercase ISO 4217 alphabetic code, as stored and shown to clients.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Usd => "USD",
            Currency::Chf => "CHF",
            Currency::Sek => "SEK",
            Currency::Nok => "NOK",
            Currency::Dkk => "DKK",
            Currency::Pln => "PLN",
            Currency::Czk => "CZK",
            Currency::Huf => "HUF",
            Currency::Ron => "RON",
            Currency::Bgn => "BGN",
            Currency::Isk => "ISK",
        }
    }

    /// The number of minor-unit digits per ISO 4217, which fixes how amounts are scaled.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Isk => 0,
            _ => 2,
        }
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;

    /// Parses an exact uppercase code; lowercase or padded input is rejected.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| UnknownCurrency(s.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Currency::ALL {
            assert_eq!(c.code().parse::<Currency>().unwrap(), c);
            assert_eq!(c.to_string(), c.code());
        }
    }

    #[test]
    fn exponents() {
        assert_eq!(Currency::Isk.exponent(), 0);
        assert_eq!(Currency::Huf.exponent(), 2);
        assert_eq!(Currency::Eur.exponent(), 2);
        assert_eq!(Currency::Czk.exponent(), 2);
    }

    #[test]
    fn rejects_lowercase_and_unknown() {
        assert_eq!(
            "eur".parse::<Currency>(),
            Err(UnknownCurrency("eur".to_owned()))
        );
        assert!("Eur".parse::<Currency>().is_err());
        assert!(" EUR".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
        let err = "XYZ".parse::<Currency>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#""XYZ" is not a supported ISO 4217 currency code"#
        );
    }
}
