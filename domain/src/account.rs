//! Accounts of consumers and merchants as rows store them.

crate::vocabulary! {
    /// Whether a consumer or merchant account may act. Every account is active today; the
    /// column is typed so a new status is one more name here.
    pub enum AccountStatus as "account status" {
        /// The account may log in and use its keys.
        Active = "ACTIVE",
    }
}
