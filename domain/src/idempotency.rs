//! Client idempotency keys as rows store them.

crate::vocabulary! {
    /// Where the request that claimed an idempotency key is.
    pub enum KeyStatus as "idempotency key status" {
        /// Claimed by a request that is still running.
        InProgress = "IN_PROGRESS",
        /// Its request recorded a payment that waits for the gateway; a replay answers
        /// `PAYMENT_PENDING` until it settles.
        Pending = "PENDING",
        /// Finished; its stored response is replayed.
        Done = "DONE",
    }
}
