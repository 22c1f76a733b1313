//! Authenticator assurance levels, shared by sessions (the level a session reached) and
//! identities (the highest level their credentials allow).

use serde::{Deserialize, Serialize};

/// An authenticator assurance level (Kratos's `aal0` … `aal3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aal {
    Aal0,
    Aal1,
    Aal2,
    Aal3,
}

impl Aal {
    pub fn as_str(self) -> &'static str {
        match self {
            Aal::Aal0 => "aal0",
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
            Aal::Aal3 => "aal3",
        }
    }

    /// `aal0` … `aal3` (any case); None for anything else.
    pub fn parse(s: &str) -> Option<Aal> {
        match s.to_ascii_lowercase().as_str() {
            "aal0" => Some(Aal::Aal0),
            "aal1" => Some(Aal::Aal1),
            "aal2" => Some(Aal::Aal2),
            "aal3" => Some(Aal::Aal3),
            _ => None,
        }
    }
}
