//! Ids that must not be mixed up, as distinct types: an identity's id is not a session's. Both
//! are UUIDs on the wire and in the database (hyphenated text), and convert from and to [`Uuid`]
//! only where a value enters or leaves the program (a path, a row).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random (v4) id.
            pub fn new() -> $name {
                $name(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<$name, uuid::Error> {
                Uuid::parse_str(s).map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> $name {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

uuid_id!(
    /// An identity's id.
    IdentityId
);
uuid_id!(
    /// A session's id.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_write_as_plain_uuids() {
        let id = IdentityId::new();
        let text = id.to_string();
        assert_eq!(text.parse::<IdentityId>().unwrap(), id);
        assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!(text));
        let back: SessionId = serde_json::from_value(serde_json::json!(text)).unwrap();
        assert_eq!(Uuid::from(back), id.0);
        assert!("nope".parse::<SessionId>().is_err());
    }
}
