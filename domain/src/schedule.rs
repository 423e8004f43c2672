//! Installment schedules: splitting an order total and computing due dates.

use chrono::{Days, Months, NaiveDate};

use super::money::Money;
use super::plan::{Cadence, PlanCode};

/// Why a schedule could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Only a positive total can be split into installments.
    #[error("the amount to split must be positive")]
    NonPositiveAmount,
    /// A schedule needs at least one installment.
    #[error("the amount must be split into at least one part")]
    NoParts,
    /// A due date falls outside the dates chrono can represent.
    #[error("a due date is out of the representable range")]
    DateOutOfRange,
}

/// One installment of a schedule: what is due, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledInstallment {
    /// The installment's 1-based position in the schedule.
    pub sequence: u32,
    /// The day the installment falls due.
    pub due_date: NaiveDate,
    /// The amount due.
    pub amount: Money,
}

/// Splits a total into `parts` near-equal amounts whose sum is exactly the total.
///
/// Every part gets `total / parts` (rounded down) and the first one also gets the remainder,
/// so the shopper pays any odd minor units up front.
pub fn split_amount(total_minor: i64, parts: u32) -> Result<Vec<i64>, ScheduleError> {
    if total_minor <= 0 {
        return Err(ScheduleError::NonPositiveAmount);
    }
    if parts == 0 {
        return Err(ScheduleError::NoParts);
    }
    let parts = i64::from(parts);
    let base = total_minor / parts;
    let remainder = total_minor % parts;
    Ok((0..parts)
        .map(|k| if k == 0 { base + remainder } else { base })
        .collect())
}

/// Computes the `count` due dates of a schedule starting on `start`.
///
/// Monthly dates are each computed from `start` (not from the previous date) so a schedule
/// starting on the 31st returns to the 31st whenever the month has one.
pub fn due_dates(
    start: NaiveDate,
    cadence: Cadence,
    count: u32,
) -> Result<Vec<NaiveDate>, ScheduleError> {
    (0..count)
        .map(|k| {
            let date = match cadence {
                Cadence::Monthly => start.checked_add_months(Months::new(k)),
                Cadence::DeferredDays(days) => {
                    let offset = u64::from(days) * (u64::from(k) + 1);
                    start.checked_add_days(Days::new(offset))
                }
            };
            date.ok_or(ScheduleError::DateOutOfRange)
        })
        .collect()
}

/// Builds the full installment schedule for an order total under a plan starting on `start`.
pub fn build_schedule(
    total: Money,
    plan: PlanCode,
    start: NaiveDate,
) -> Result<Vec<ScheduledInstallment>, ScheduleError> {
    let count = plan.installment_count();
    let amounts = split_amount(total.minor(), count)?;
    let dates = due_dates(start, plan.cadence(), count)?;
    Ok((1..=count)
        .zip(amounts.into_iter().zip(dates))
        .map(|(sequence, (minor, due_date))| ScheduledInstallment {
            sequence,
            due_date,
            amount: Money::new(minor, total.currency()),
        })
        .collect())
}

/// What of a schedule is due by `day` (the day of confirmation: charged at once), in
/// minor units.
pub fn due_by(schedule: &[ScheduledInstallment], day: NaiveDate) -> i64 {
    schedule
        .iter()
        .filter(|installment| installment.due_date <= day)
        .map(|installment| installment.amount.minor())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::Currency;
    use chrono::Datelike;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn days_in_month(year: i32, month: u32) -> u32 {
        let (next_year, next_month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        date(next_year, next_month, 1).pred_opt().unwrap().day()
    }

    #[test]
    fn monthly_plans_charge_their_first_instalment_at_confirmation_and_deferred_ones_nothing() {
        let total = Money::new(8_500, Currency::Eur);
        let start = date(2027, 1, 31);
        let monthly = build_schedule(total, PlanCode::PayIn3, start).unwrap();
        assert_eq!(due_by(&monthly, start), 2_834);
        assert_eq!(due_by(&monthly, date(2027, 2, 28)), 5_667);
        let deferred = build_schedule(total, PlanCode::PayIn30Days, start).unwrap();
        assert_eq!(due_by(&deferred, start), 0);
    }

    #[test]
    fn split_examples() {
        assert_eq!(split_amount(1000, 3), Ok(vec![334, 333, 333]));
        assert_eq!(split_amount(1000, 4), Ok(vec![250, 250, 250, 250]));
        assert_eq!(split_amount(1000, 1), Ok(vec![1000]));
        assert_eq!(split_amount(2, 3), Ok(vec![2, 0, 0]));
        assert_eq!(
            split_amount(i64::MAX, 12).unwrap().iter().sum::<i64>(),
            i64::MAX
        );
    }

    #[test]
    fn split_errors() {
        assert_eq!(split_amount(0, 3), Err(ScheduleError::NonPositiveAmount));
        assert_eq!(split_amount(-5, 3), Err(ScheduleError::NonPositiveAmount));
        assert_eq!(
            split_amount(i64::MIN, 3),
            Err(ScheduleError::NonPositiveAmount)
        );
        assert_eq!(split_amount(100, 0), Err(ScheduleError::NoParts));
    }

    #[test]
    fn monthly_clamps_to_month_end_in_leap_year() {
        assert_eq!(
            due_dates(date(2028, 1, 31), Cadence::Monthly, 4),
            Ok(vec![
                date(2028, 1, 31),
                date(2028, 2, 29),
                date(2028, 3, 31),
                date(2028, 4, 30)
            ])
        );
    }

    #[test]
    fn monthly_clamps_to_month_end_in_common_year() {
        assert_eq!(
            due_dates(date(2027, 1, 31), Cadence::Monthly, 4),
            Ok(vec![
                date(2027, 1, 31),
                date(2027, 2, 28),
                date(2027, 3, 31),
                date(2027, 4, 30)
            ])
        );
    }

    #[test]
    fn monthly_crosses_year_end() {
        assert_eq!(
            due_dates(date(2025, 11, 15), Cadence::Monthly, 3),
            Ok(vec![
                date(2025, 11, 15),
                date(2025, 12, 15),
                date(2026, 1, 15)
            ])
        );
    }

    #[test]
    fn deferred_days() {
        assert_eq!(
            due_dates(date(2025, 1, 15), Cadence::DeferredDays(30), 1),
            Ok(vec![date(2025, 2, 14)])
        );
        assert_eq!(
            due_dates(date(2025, 1, 1), Cadence::DeferredDays(10), 3),
            Ok(vec![
                date(2025, 1, 11),
                date(2025, 1, 21),
                date(2025, 1, 31)
            ])
        );
    }

    #[test]
    fn zero_count_is_empty() {
        assert_eq!(due_dates(date(2025, 1, 1), Cadence::Monthly, 0), Ok(vec![]));
    }

    #[test]
    fn out_of_range_dates() {
        assert_eq!(
            due_dates(NaiveDate::MAX, Cadence::Monthly, 2),
            Err(ScheduleError::DateOutOfRange)
        );
        assert_eq!(
            due_dates(NaiveDate::MAX, Cadence::DeferredDays(1), 1),
            Err(ScheduleError::DateOutOfRange)
        );
        assert_eq!(
            due_dates(date(2025, 1, 1), Cadence::DeferredDays(u32::MAX), 3),
            Err(ScheduleError::DateOutOfRange)
        );
    }

    #[test]
    fn build_pay_in_3() {
        let total = Money::new(10_000, Currency::Eur);
        let schedule = build_schedule(total, PlanCode::PayIn3, date(2028, 1, 31)).unwrap();
        assert_eq!(
            schedule,
            vec![
                ScheduledInstallment {
                    sequence: 1,
                    due_date: date(2028, 1, 31),
                    amount: Money::new(3334, Currency::Eur),
                },
                ScheduledInstallment {
                    sequence: 2,
                    due_date: date(2028, 2, 29),
                    amount: Money::new(3333, Currency::Eur),
                },
                ScheduledInstallment {
                    sequence: 3,
                    due_date: date(2028, 3, 31),
                    amount: Money::new(3333, Currency::Eur),
                },
            ]
        );
    }

    #[test]
    fn build_pay_in_30_days() {
        let total = Money::new(4_999, Currency::Isk);
        let schedule = build_schedule(total, PlanCode::PayIn30Days, date(2025, 1, 15)).unwrap();
        assert_eq!(
            schedule,
            vec![ScheduledInstallment {
                sequence: 1,
                due_date: date(2025, 2, 14),
                amount: total,
            }]
        );
    }

    #[test]
    fn build_errors() {
        let start = date(2025, 1, 1);
        assert_eq!(
            build_schedule(Money::zero(Currency::Eur), PlanCode::PayIn4, start),
            Err(ScheduleError::NonPositiveAmount)
        );
        assert_eq!(
            build_schedule(
                Money::new(100, Currency::Eur),
                PlanCode::PayIn4,
                NaiveDate::MAX
            ),
            Err(ScheduleError::DateOutOfRange)
        );
    }

    fn start_date() -> impl Strategy<Value = NaiveDate> {
        let first = date(2000, 1, 1);
        let span = date(2100, 1, 1).signed_duration_since(first).num_days();
        (0..span).prop_map(move |offset| first + chrono::Duration::days(offset))
    }

    proptest! {
        #[test]
        fn split_properties(total in 1_i64..=1_000_000_000_000, parts in 1_u32..=12) {
            let split = split_amount(total, parts).unwrap();
            let n = i64::from(parts);
            let (base, remainder) = (total / n, total % n);
            prop_assert_eq!(split.len(), parts as usize);
            prop_assert_eq!(split.iter().sum::<i64>(), total);
            prop_assert!(split.iter().all(|&p| p >= base));
            for &other in &split[1..] {
                prop_assert_eq!(split[0] - other, remainder);
            }
            let max = split.iter().max().unwrap();
            let min = split.iter().min().unwrap();
            prop_assert!(max - min <= remainder);
        }

        #[test]
        fn monthly_properties(start in start_date(), count in 1_u32..=24) {
            let dates = due_dates(start, Cadence::Monthly, count).unwrap();
            prop_assert_eq!(dates.len(), count as usize);
            prop_assert_eq!(dates[0], start);
            for pair in dates.windows(2) {
                prop_assert!(pair[0] < pair[1]);
                let month_index = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
                prop_assert_eq!(month_index(pair[1]) - month_index(pair[0]), 1);
            }
            for d in &dates {
                prop_assert_eq!(d.day(), start.day().min(days_in_month(d.year(), d.month())));
            }
        }

        #[test]
        fn schedule_properties(
            plan in proptest::sample::select(PlanCode::ALL.to_vec()),
            currency in proptest::sample::select(Currency::ALL.to_vec()),
            total in 1_i64..=10_000_000_000,
            start in start_date(),
        ) {
            let schedule = build_schedule(Money::new(total, currency), plan, start).unwrap();
            let count = plan.installment_count();
            prop_assert_eq!(schedule.len(), count as usize);
            prop_assert_eq!(schedule.iter().map(|i| i.amount.minor()).sum::<i64>(), total);
            prop_assert!(schedule.iter().all(|i| i.amount.currency() == currency));
            prop_assert!(schedule.iter().map(|i| i.sequence).eq(1..=count));
            if total >= i64::from(count) {
                prop_assert!(schedule.iter().all(|i| i.amount.is_positive()));
            }
        }
    }
}
