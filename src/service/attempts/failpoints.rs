//! Points in a payment attempt where a test stops it (as a crash would) or breaks its last
//! write, to show that what was committed is enough to finish it. A server arms none: only
//! code holding the [`Failpoints`] of a running application can, and that is the tests'.

use std::sync::Mutex;

use sea_orm::DbErr;
use tokio::sync::watch;

use super::super::{ServiceError, ServiceResult};
use crate::domain::attempt::AttemptKind;

/// Where in an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// Phase 1 committed; the gateway has not been asked (between phases 1 and 2).
    Recorded,
    /// The gateway answered; nothing of it is written (between phases 2 and 3).
    Answered,
    /// Phase 3 wrote the outcome in its transaction, which has not committed.
    OutcomeWritten,
}

/// What happens there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The attempt stops for good, as if its process died: nothing after the point runs.
    /// Only outside a transaction ([`Failpoint::Recorded`], [`Failpoint::Answered`]).
    Crash,
    /// The database refuses the write: the transaction rolls back.
    WriteFails,
}

struct Armed {
    point: Failpoint,
    kind: AttemptKind,
    failure: Failure,
    times: usize,
}

/// The armed points of one application, and how often attempts reached one.
pub struct Failpoints {
    armed: Mutex<Vec<Armed>>,
    reached: watch::Sender<usize>,
}

impl Default for Failpoints {
    fn default() -> Self {
        Self {
            armed: Mutex::default(),
            reached: watch::Sender::new(0),
        }
    }
}

impl Failpoints {
    /// Makes the next `times` attempts of `kind` that reach `point` fail there.
    pub fn arm(&self, point: Failpoint, kind: AttemptKind, failure: Failure, times: usize) {
        self.armed().push(Armed {
            point,
            kind,
            failure,
            times,
        });
    }

    /// Disarms every point not reached yet.
    pub fn disarm(&self) {
        self.armed().clear();
    }

    /// Waits until armed points have been reached `count` times in all.
    pub async fn wait_reached(&self, count: usize) {
        let mut reached = self.reached.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = reached.wait_for(|n| *n >= count).await;
    }

    fn armed(&self) -> std::sync::MutexGuard<'_, Vec<Armed>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Passes `point` for an attempt of `kind`, unless a test armed it.
    pub(super) async fn pass(&self, point: Failpoint, kind: AttemptKind) -> ServiceResult<()> {
        let failure = {
            let mut armed = self.armed();
            let Some(found) = armed
                .iter_mut()
                .find(|a| a.point == point && a.kind == kind && a.times > 0)
            else {
                return Ok(());
            };
            found.times -= 1;
            found.failure
        };
        self.reached.send_modify(|n| *n += 1);
        match failure {
            Failure::Crash => std::future::pending().await,
            Failure::WriteFails => Err(ServiceError::Database(DbErr::Custom(format!(
                "failpoint {point:?} for {kind}"
            )))),
        }
    }
}
