//! Changes to an identity's verifiable addresses that self-service flows make on their own (a code
//! or link used, a code sent). Each changes only the address it names, so that re-applied to a
//! fresh read of the identity it never reverts anyone else's change.

use super::Identity;
use chrono::{DateTime, Utc};

impl Identity {
    /// Mark `address` verified; whether anything changed.
    pub fn mark_address_verified(&mut self, address: &str, now: DateTime<Utc>) -> bool {
        let mut changed = false;
        for a in self
            .verifiable_addresses
            .iter_mut()
            .filter(|a| a.value == address)
        {
            a.verified = true;
            a.status = "completed".into();
            a.verified_at = Some(now);
            a.updated_at = now;
            changed = true;
        }
        if changed {
            self.updated_at = now;
        }
        changed
    }

    /// Set the status of `address` while it is unverified (`sent` once a code went out); whether
    /// anything changed.
    pub fn set_address_status(&mut self, address: &str, status: &str, now: DateTime<Utc>) -> bool {
        let mut changed = false;
        for a in self
            .verifiable_addresses
            .iter_mut()
            .filter(|a| a.value == address && !a.verified && a.status != status)
        {
            a.status = status.into();
            a.updated_at = now;
            changed = true;
        }
        changed
    }
}
