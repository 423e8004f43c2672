//! Whether the accounts of consumers and merchants may act, as rows store it. An operator
//! blocks or suspends an account in the database; nothing in the API does.

crate::vocabulary! {
    /// Whether a consumer may act.
    pub enum ConsumerStatus as "consumer status" {
        /// The consumer may log in, and confirm checkouts.
        Active = "ACTIVE",
        /// Blocked by an operator: logins and confirmations are refused.
        Blocked = "BLOCKED",
    }
}

crate::vocabulary! {
    /// Whether a merchant may act.
    pub enum MerchantStatus as "merchant status" {
        /// The merchant's keys work.
        Active = "ACTIVE",
        /// Suspended by an operator: every key of the merchant is refused.
        Suspended = "SUSPENDED",
    }
}
