//! The roles of the operator's own people (admins and support agents).

use serde::{Deserialize, Serialize};

crate::vocabulary! {
    /// What a member of staff may do.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum StaffRole as "staff role" {
        /// Everything support may do, and reading the audit log.
        Admin = "admin",
        /// Reads any checkout or order to help shoppers and merchants, with PII masked.
        Support = "support",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_refused() {
        for role in [StaffRole::Admin, StaffRole::Support] {
            assert_eq!(role.as_str().parse::<StaffRole>(), Ok(role));
        }
        assert!("root".parse::<StaffRole>().is_err());
    }
}
