//! Pure business rules of paylater: money, currencies, plans and installment schedules.
//!
//! Nothing here does I/O, touches the database or reads the clock: "today" and "now"
//! always come in as arguments, so every rule can be tested with fixed inputs.

pub mod checkout;
pub mod country;
pub mod currency;
pub mod masking;
pub mod money;
pub mod plan;
pub mod schedule;
pub mod violation;

pub use currency::Currency;
pub use money::{Money, MoneyError};
pub use plan::{AmountLimits, Cadence, PlanCode};
pub use schedule::{ScheduleError, ScheduledInstallment, build_schedule, due_dates, split_amount};
