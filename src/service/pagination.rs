//! Keyset pagination: pages are found by the last seen (sort value, id), never by OFFSET,
//! so page 1000 costs what page 1 costs and rows do not shift between pages.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Select, sea_query::Value,
};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;
/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// A position in a sorted list: the sort value of a row and its id as the tie-breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The row's sort value (timestamps in milliseconds).
    pub value: i64,
    /// The row's id.
    pub id: Uuid,
}

/// Which slice of a sorted list to return, in Relay terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows strictly after this position.
    pub after: Option<Cursor>,
    /// Rows strictly before this position.
    pub before: Option<Cursor>,
    /// How many rows.
    pub limit: u64,
    /// Take the last `limit` rows of the slice instead of the first.
    pub from_end: bool,
}

impl PageRequest {
    /// Validates Relay arguments: `first` or `last` (not both), each 0 to [`MAX_PAGE_SIZE`].
    pub fn new(
        first: Option<i32>,
        last: Option<i32>,
        after: Option<Cursor>,
        before: Option<Cursor>,
    ) -> ServiceResult<Self> {
        let size = |n: i32, name: &str| {
            u64::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_PAGE_SIZE)
                .ok_or_else(|| {
                    ServiceError::BadInput(format!(
                        "`{name}` must be between 0 and {MAX_PAGE_SIZE}"
                    ))
                })
        };
        let (limit, from_end) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::BadInput(
                    "pass `first` or `last`, not both".into(),
                ));
            }
            (Some(first), None) => (size(first, "first")?, false),
            (None, Some(last)) => (size(last, "last")?, true),
            (None, None) => (DEFAULT_PAGE_SIZE, false),
        };
        Ok(Self {
            after,
            before,
            limit,
            from_end,
        })
    }
}

/// One page of rows, in list order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// Rows exist before the first one returned.
    pub has_previous_page: bool,
    /// Rows exist after the last one returned.
    pub has_next_page: bool,
}

/// How a list is ordered: one indexed column, with the id breaking ties.
pub struct Keyset<C> {
    /// The sort column (BIGINT).
    pub column: C,
    /// The primary key column.
    pub id: C,
    /// Largest first.
    pub descending: bool,
}

impl<C: ColumnTrait> Keyset<C> {
    /// Rows that come after `cursor` in the order `descending`. The first, redundant bound
    /// on the sort column lets the database seek the index instead of walking it to
    /// evaluate the OR.
    fn beyond(&self, cursor: Cursor, descending: bool) -> Condition {
        let (value, id) = (Value::from(cursor.value), Value::from(cursor.id));
        let (bound, past_value, past_id) = if descending {
            (
                self.column.lte(value.clone()),
                self.column.lt(value.clone()),
                self.id.lt(id),
            )
        } else {
            (
                self.column.gte(value.clone()),
                self.column.gt(value.clone()),
                self.id.gt(id),
            )
        };
        Condition::all().add(bound).add(
            Condition::any()
                .add(past_value)
                .add(Condition::all().add(self.column.eq(value)).add(past_id)),
        )
    }

    /// Runs `select` for one page: one statement, fetching one extra row to learn whether
    /// more exist.
    pub async fn fetch<E>(
        &self,
        db: &impl ConnectionTrait,
        select: Select<E>,
        page: PageRequest,
    ) -> Result<Page<E::Model>, DbErr>
    where
        E: EntityTrait<Column = C>,
    {
        let mut select = select;
        if let Some(after) = page.after {
            select = select.filter(self.beyond(after, self.descending));
        }
        if let Some(before) = page.before {
            select = select.filter(self.beyond(before, !self.descending));
        }
        let scan_descending = self.descending != page.from_end;
        let order = if scan_descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let mut rows = select
            .order_by(self.column, order.clone())
            .order_by(self.id, order)
            .limit(page.limit + 1)
            .all(db)
            .await?;
        let more = rows.len() as u64 > page.limit;
        rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        if page.from_end {
            rows.reverse();
        }
        Ok(page.of(rows, more))
    }

    /// [`Keyset::fetch`] over the union of disjoint selects: each is read in its own index
    /// order (one statement each), and the pages are merged. A filter that would need an
    /// OR across indexes is split this way so no query sorts outside an index.
    pub async fn fetch_union<E>(
        &self,
        db: &impl ConnectionTrait,
        selects: Vec<Select<E>>,
        page: PageRequest,
        position: impl Fn(&E::Model) -> Cursor,
    ) -> Result<Page<E::Model>, DbErr>
    where
        E: EntityTrait<Column = C>,
    {
        let mut rows = Vec::new();
        let mut more = false;
        for select in selects {
            let part = self.fetch(db, select, page).await?;
            more |= if page.from_end {
                part.has_previous_page
            } else {
                part.has_next_page
            };
            rows.extend(part.rows);
        }
        rows.sort_by(|a, b| {
            let (a, b) = (position(a), position(b));
            let ascending = (a.value, a.id).cmp(&(b.value, b.id));
            if self.descending {
                ascending.reverse()
            } else {
                ascending
            }
        });
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        more |= rows.len() > limit;
        if page.from_end {
            rows.drain(..rows.len().saturating_sub(limit));
        } else {
            rows.truncate(limit);
        }
        Ok(page.of(rows, more))
    }
}

impl PageRequest {
    /// The page of `rows` (in list order), `more` saying whether rows exist beyond them
    /// in the direction read.
    fn of<T>(self, rows: Vec<T>, more: bool) -> Page<T> {
        if self.from_end {
            Page {
                rows,
                has_previous_page: more,
                has_next_page: self.before.is_some(),
            }
        } else {
            Page {
                rows,
                has_previous_page: self.after.is_some(),
                has_next_page: more,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(
            PageRequest::new(None, None, None, None).unwrap().limit,
            DEFAULT_PAGE_SIZE
        );
        assert!(PageRequest::new(Some(101), None, None, None).is_err());
        assert!(PageRequest::new(Some(-1), None, None, None).is_err());
        assert!(PageRequest::new(Some(1), Some(1), None, None).is_err());
        let last = PageRequest::new(None, Some(100), None, None).unwrap();
        assert!(last.from_end);
        assert_eq!(last.limit, 100);
    }
}
