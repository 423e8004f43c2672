//! Pure business rules of paylater: money, currencies, plans and instalment schedules,
//! orders and refunds, the risk decision, card checks and masking.
//!
//! Nothing here does I/O, touches the database or reads the clock: "today" and "now"
//! always come in as arguments, so every rule can be tested with fixed inputs.

pub mod account;
pub mod attempt;
pub mod card;
pub mod checkout;
pub mod country;
pub mod currency;
pub mod event;
pub mod idempotency;
pub mod masking;
pub mod money;
pub mod order;
pub mod plan;
pub mod refund;
pub mod risk;
pub mod schedule;
pub mod scope;
pub mod staff;
pub mod violation;
pub mod vocabulary;
pub mod webhook;

pub use currency::Currency;
pub use money::{DecimalFormatError, Money, MoneyError, parse_plain_decimal};
pub use plan::{AmountLimits, Cadence, PlanCode};
pub use schedule::{
    ScheduleError, ScheduledInstallment, build_schedule, due_by, due_dates, split_amount,
};
