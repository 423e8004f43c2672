//! The roles of the operator's own people (admins and support agents).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What a member of staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Everything support may do, and reading the audit log.
    Admin,
    /// Reads any checkout or order to help shoppers and merchants, with PII masked.
    Support,
}

impl StaffRole {
    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Support => "support",
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name paylater does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown staff role {0:?} (admin or support)")]
pub struct UnknownRole(pub String);

impl FromStr for StaffRole {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "admin" => Ok(Self::Admin),
            "support" => Ok(Self::Support),
            other => Err(UnknownRole(other.to_owned())),
        }
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
