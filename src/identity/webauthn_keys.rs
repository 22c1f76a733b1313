//! The keys of a `webauthn` or `passkey` credential, stored as Kratos stores them (so identities
//! move between the two unchanged): each key's id and raw COSE public key (standard base64), its
//! attestation format, authenticator data at registration, name, time added, whether it is a
//! first factor, and the flags. Turning a stored key into what `webauthn-rs-core` verifies with,
//! and a verified registration into a stored key, happens here; the ceremonies are the methods'.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs_core::proto::{
    AttestationFormat, AuthenticatorTransport, COSEKey, Credential, ParsedAttestation,
    RegisteredExtensions, UserVerificationPolicy,
};

/// A credential's configuration: its keys and the user handle authenticators hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeySet {
    #[serde(default)]
    pub credentials: Vec<StoredKey>,
    #[serde(default, with = "std_b64_opt", skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKey {
    #[serde(with = "std_b64")]
    pub id: Vec<u8>,
    #[serde(with = "std_b64")]
    pub public_key: Vec<u8>,
    #[serde(default)]
    pub attestation_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator: Option<AuthenticatorInfo>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default = "epoch")]
    pub added_at: DateTime<Utc>,
    #[serde(default)]
    pub is_passwordless: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Flags>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Vec<String>>,
    /// Imported attestation data, kept as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthenticatorInfo {
    #[serde(default, with = "std_b64")]
    pub aaguid: Vec<u8>,
    #[serde(default)]
    pub sign_count: u32,
    #[serde(default)]
    pub clone_warning: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Flags {
    #[serde(default)]
    pub user_present: bool,
    #[serde(default)]
    pub user_verified: bool,
    #[serde(default)]
    pub backup_eligible: bool,
    #[serde(default)]
    pub backup_state: bool,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl KeySet {
    /// The keys of a credential's `config`, for reading (a config that cannot be read holds none;
    /// whoever rewrites keys uses [`KeySet::read`], so nothing unreadable is dropped).
    pub fn from_config(config: &Value) -> KeySet {
        KeySet::read(config).unwrap_or_default()
    }

    /// The keys of a credential's `config`, or why they cannot be read.
    pub fn read(config: &Value) -> Result<KeySet, serde_json::Error> {
        if config.is_null() {
            return Ok(KeySet::default());
        }
        serde_json::from_value(config.clone())
    }

    pub fn to_config(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The key with this id (the lower-case hex a remove button carries).
    pub fn position_of_hex(&self, hex_id: &str) -> Option<usize> {
        let id = hex::decode(hex_id.trim()).ok()?;
        self.credentials.iter().position(|k| k.id == id)
    }
}

impl StoredKey {
    /// The key as `webauthn-rs-core` verifies an assertion with it, or None when its public key
    /// is not one the library can check (such a key can never sign in). The counter is left at
    /// zero: as in Kratos a counter that does not grow is no reason to refuse a signature.
    /// `response_flags` stands in for the backup flags of a key stored without them.
    pub fn to_core(&self, response_flags: Option<Flags>) -> Option<Credential> {
        let value: serde_cbor_2::Value = serde_cbor_2::from_slice(&self.public_key).ok()?;
        let cred = COSEKey::try_from(&value).ok()?;
        let flags = self.flags.or(response_flags).unwrap_or_default();
        Some(Credential {
            cred_id: self.id.clone(),
            cred,
            counter: 0,
            transports: self
                .transport
                .as_ref()
                .map(|t| t.iter().filter_map(|s| transport(s)).collect::<Vec<_>>()),
            user_verified: flags.user_verified,
            backup_eligible: flags.backup_eligible,
            backup_state: flags.backup_state,
            registration_policy: UserVerificationPolicy::Discouraged_DO_NOT_USE,
            extensions: RegisteredExtensions::none(),
            attestation: ParsedAttestation::default(),
            attestation_format: AttestationFormat::None,
        })
    }

    /// The id as a credential descriptor names it (unpadded base64url).
    pub fn id_b64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.id)
    }
}

fn transport(s: &str) -> Option<AuthenticatorTransport> {
    Some(match s {
        "usb" => AuthenticatorTransport::Usb,
        "nfc" => AuthenticatorTransport::Nfc,
        "ble" => AuthenticatorTransport::Ble,
        "internal" => AuthenticatorTransport::Internal,
        "hybrid" => AuthenticatorTransport::Hybrid,
        _ => return None,
    })
}

/// The flags byte of authenticator data (offset 32), as stored flags.
pub fn flags_of_auth_data(auth_data: &[u8]) -> Option<Flags> {
    let b = *auth_data.get(32)?;
    Some(Flags {
        user_present: b & 0x01 != 0,
        user_verified: b & 0x04 != 0,
        backup_eligible: b & 0x08 != 0,
        backup_state: b & 0x10 != 0,
    })
}

/// Why an attestation object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    #[error("the attestation object is not CBOR")]
    NotCbor,
    #[error("the attestation object has no {0}")]
    Missing(&'static str),
    #[error("the authenticator data is too short")]
    Truncated,
}

/// A stored key from a registration's attestation object (already verified by the library): its
/// format, the authenticator data's counter, flags, AAGUID, credential id and the public key's
/// raw CBOR bytes, exactly as the authenticator sent them.
pub fn key_from_attestation(
    attestation_object: &[u8],
    display_name: String,
    is_passwordless: bool,
    now: DateTime<Utc>,
) -> Result<StoredKey, AttestationError> {
    use serde_cbor_2::Value as Cbor;
    let object: Cbor =
        serde_cbor_2::from_slice(attestation_object).map_err(|_| AttestationError::NotCbor)?;
    let Cbor::Map(map) = object else {
        return Err(AttestationError::NotCbor);
    };
    let get = |k: &str| map.get(&Cbor::Text(k.into()));
    let fmt = match get("fmt") {
        Some(Cbor::Text(t)) => t.clone(),
        _ => return Err(AttestationError::Missing("fmt")),
    };
    let auth_data = match get("authData") {
        Some(Cbor::Bytes(b)) => b.clone(),
        _ => return Err(AttestationError::Missing("authData")),
    };
    // rpIdHash(32) flags(1) signCount(4) aaguid(16) credIdLen(2) credId COSE_Key [extensions]
    if auth_data.len() < 55 {
        return Err(AttestationError::Truncated);
    }
    let flags = flags_of_auth_data(&auth_data).ok_or(AttestationError::Truncated)?;
    let sign_count =
        u32::from_be_bytes([auth_data[33], auth_data[34], auth_data[35], auth_data[36]]);
    let aaguid = auth_data[37..53].to_vec();
    let id_len = u16::from_be_bytes([auth_data[53], auth_data[54]]) as usize;
    let key_start = 55 + id_len;
    let id = auth_data
        .get(55..key_start)
        .ok_or(AttestationError::Truncated)?
        .to_vec();
    let rest = auth_data
        .get(key_start..)
        .ok_or(AttestationError::Truncated)?;
    let mut de = serde_cbor_2::Deserializer::from_slice(rest);
    <serde::de::IgnoredAny as serde::Deserialize>::deserialize(&mut de)
        .map_err(|_| AttestationError::Truncated)?;
    let public_key = rest[..de.byte_offset()].to_vec();
    Ok(StoredKey {
        id,
        public_key,
        attestation_type: fmt,
        authenticator: Some(AuthenticatorInfo {
            aaguid,
            sign_count,
            clone_warning: false,
        }),
        display_name,
        added_at: now.trunc_subsecs(0),
        is_passwordless,
        flags: Some(flags),
        transport: None,
        attestation: None,
    })
}

mod std_b64 {
    use super::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::decode_lenient(&s).ok_or_else(|| serde::de::Error::custom("not base64"))
    }
}

mod std_b64_opt {
    use super::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&STANDARD.encode(v)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        match s {
            None => Ok(None),
            Some(s) => super::decode_lenient(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("not base64")),
        }
    }
}

/// Standard base64 with or without padding (and the URL-safe alphabet, which some exports use).
pub fn decode_lenient(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kratos_key_set_reads_and_writes_back_the_same() {
        let config = serde_json::json!({"credentials":[{"id":"AQID","public_key":"pQECAyYgASFYIA==","attestation_type":"none",
            "authenticator":{"aaguid":"AAAAAAAAAAAAAAAAAAAAAA==","sign_count":3,"clone_warning":false},
            "display_name":"key","added_at":"2026-03-20T11:00:00Z","is_passwordless":false,
            "flags":{"user_present":true,"user_verified":false,"backup_eligible":false,"backup_state":false}}],
            "user_handle":"AQID"});
        let set = KeySet::from_config(&config);
        assert_eq!(set.credentials.len(), 1);
        assert_eq!(set.credentials[0].id, vec![1, 2, 3]);
        assert_eq!(set.to_config(), config);
        assert_eq!(set.position_of_hex("010203"), Some(0));
        assert_eq!(set.position_of_hex("zz"), None);
        // Not a COSE key the library can use: never a verifying key.
        assert!(set.credentials[0].to_core(None).is_none());
    }

    #[test]
    fn attestation_objects_that_are_not_cbor_or_short_are_refused() {
        let now = Utc::now();
        assert!(key_from_attestation(b"\xff\x00", String::new(), true, now).is_err());
        let short = serde_cbor_2::to_vec(&serde_cbor_2::Value::Map(
            [
                (
                    serde_cbor_2::Value::Text("fmt".into()),
                    serde_cbor_2::Value::Text("none".into()),
                ),
                (
                    serde_cbor_2::Value::Text("authData".into()),
                    serde_cbor_2::Value::Bytes(vec![0; 40]),
                ),
            ]
            .into_iter()
            .collect(),
        ))
        .unwrap();
        assert!(matches!(
            key_from_attestation(&short, String::new(), true, now),
            Err(AttestationError::Truncated)
        ));
    }
}
