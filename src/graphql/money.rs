//! Money on the wire: a decimal amount with its currency, plus the integer minor units.

use async_graphql::{InputObject, SimpleObject};

use super::{
    errors::UserError,
    scalars::{CurrencyCode, Decimal},
};
use crate::domain::{
    Currency, Money as DomainMoney, MoneyError,
    checkout::AmountInput,
    violation::{Path, Violation, ViolationCode},
};

/// An amount of money. `amount` and `minorUnits` say the same thing; use whichever suits.
#[derive(Debug, Clone, SimpleObject)]
pub struct Money {
    /// The amount in major units with the currency's decimals, e.g. `"129.90"`.
    pub amount: Decimal,
    /// The currency.
    pub currency_code: CurrencyCode,
    /// The amount in the currency's smallest unit, e.g. `12990` for 129.90 EUR.
    pub minor_units: i64,
}

impl From<DomainMoney> for Money {
    fn from(money: DomainMoney) -> Self {
        Self {
            amount: Decimal(money.to_decimal()),
            currency_code: CurrencyCode(money.currency()),
            minor_units: money.minor(),
        }
    }
}

impl Money {
    /// Money from stored minor units.
    pub fn minor(minor: i64, currency: Currency) -> Self {
        DomainMoney::new(minor, currency).into()
    }
}

/// An amount of money sent by a client.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct MoneyInput {
    /// The amount in major units, as a string, e.g. `"129.90"`; at most as many decimals
    /// as the currency has.
    pub amount: Decimal,
    /// The currency.
    pub currency_code: CurrencyCode,
}

impl From<MoneyInput> for AmountInput {
    fn from(input: MoneyInput) -> Self {
        Self {
            amount: input.amount.0,
            currency: input.currency_code.0,
        }
    }
}

impl MoneyInput {
    /// The exact amount, or the user error for the input field `field`: too many decimals
    /// for the currency, or too large.
    pub fn to_money(self, field: &str) -> Result<DomainMoney, UserError> {
        DomainMoney::from_decimal(self.amount.0, self.currency_code.0).map_err(|err| {
            let code = match err {
                MoneyError::TooPrecise { .. } => ViolationCode::TooPrecise,
                MoneyError::Overflow => ViolationCode::AmountTooLarge,
                MoneyError::CurrencyMismatch { .. } => ViolationCode::OutOfRange,
            };
            Violation::new(&Path::input().at(field).at("amount"), code, err.to_string()).into()
        })
    }
}
