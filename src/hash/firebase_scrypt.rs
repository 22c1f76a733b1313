//! Firebase's modified scrypt (`$firescrypt$`): parsing and verification of imported hashes.
//!
//! Scheme (Firebase's published algorithm): `key = scrypt(password, salt ‖ salt_separator,
//! N = 2^mem_cost, r = rounds, p, 32 bytes)`; the stored hash is the signer key
//! encrypted with AES-256-CTR under `key` and an all-zero 16-byte IV.

use aes::cipher::{KeyIvInit, StreamCipher};

use super::encoding::{ct_eq, decode_b64, parse_params, B64_PADDED};
use super::error::{malformed, HashError};
use super::scrypt_hash::{checked_params, derive};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// A parsed Firebase scrypt hash.
#[derive(Debug)]
pub(crate) struct FirebaseScryptHash {
    params: scrypt::Params,
    salt_and_separator: Vec<u8>,
    digest: Vec<u8>,
    signer_key: Vec<u8>,
}

/// Parses `$firescrypt$ln=<mem_cost>,r=<rounds>,p=<p>$<salt>$<hash>$<salt separator>$<signer key>`,
/// every binary field in padded standard base64. `ln` is log2(N).
pub(crate) fn parse(hash: &str) -> Result<FirebaseScryptHash, HashError> {
    let parts: Vec<&str> = hash.split('$').collect();
    let [_, "firescrypt", params, salt, digest, separator, signer_key] = parts.as_slice() else {
        return Err(malformed("firescrypt: expected 6 `$`-separated fields"));
    };
    let [mem_cost, rounds, p] = parse_params(params, ["ln", "r", "p"])
        .ok_or_else(|| malformed("firescrypt: parameters must be `ln=<n>,r=<n>,p=<n>`"))?;
    let log_n = u32::try_from(mem_cost).map_err(|_| malformed("firescrypt: N out of range"))?;
    let params = checked_params(log_n, rounds, p)?;
    let decode = |field: &str, what: &str| {
        decode_b64(&B64_PADDED, field)
            .ok_or_else(|| HashError::Malformed(format!("firescrypt: bad {what} encoding")))
    };
    let mut salt_and_separator = decode(salt, "salt")?;
    let digest = decode(digest, "hash")?;
    salt_and_separator.extend_from_slice(&decode(separator, "salt separator")?);
    let signer_key = decode(signer_key, "signer key")?;
    if digest.is_empty() || digest.len() != signer_key.len() {
        return Err(malformed(
            "firescrypt: hash must be as long as the (non-empty) signer key",
        ));
    }
    Ok(FirebaseScryptHash {
        params,
        salt_and_separator,
        digest,
        signer_key,
    })
}

impl FirebaseScryptHash {
    /// Derives the key, encrypts the signer key with it and compares in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let mut key = [0u8; 32];
        derive(password, &self.salt_and_separator, &self.params, &mut key)?;
        let mut cipher = Aes256Ctr::new(&key.into(), &[0u8; 16].into());
        let mut encrypted = self.signer_key.clone();
        cipher.apply_keystream(&mut encrypted);
        Ok(ct_eq(&encrypted, &self.digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known vector from Ory Kratos's hasher tests (Firebase sample parameters).
    const KRATOS: &str = "$firescrypt$ln=14,r=8,p=1$sPtDhWcd1MfdAw==$xbSou7FOl6mChCyzpCPIQ7tku7nsQMTFtyOZSXXd7tjBa4NtimOx7v42Gv2SfzPQu1oxM2/k4SsbOu73wlKe1A==$Bw==$YE0dO4bwD4JnJafh6lZZfkp1MtKzuKAXQcDCJNJNyeCHairWHKENOkbh3dzwaCdizzOspwr/FITUVlnOAwPKyw==";

    #[test]
    fn kratos_vector() {
        let h = parse(KRATOS).unwrap();
        assert!(h.verify(b"8x4WjoDbSxJZdR").unwrap());
        assert!(!h.verify(b"8x4WjoDbSxJZdr").unwrap());
    }

    // Computed independently with Python's hashlib.scrypt and `openssl enc -aes-256-ctr`
    // (password "hunter2", salt "NaCl-salt", separator 0x07, 40-byte signer key 0..=39,
    // mem_cost 10, rounds 8, p 1); the 40-byte key exercises the CTR counter.
    const INDEPENDENT: &str = "$firescrypt$ln=10,r=8,p=1$TmFDbC1zYWx0$WgAaUlMSMN0Nsjq3gP24zqMNNYhsIO6O/rhP5A2oQbvYH4d3W/D0Gw==$Bw==$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==";

    #[test]
    fn independent_vector() {
        let h = parse(INDEPENDENT).unwrap();
        assert!(h.verify(b"hunter2").unwrap());
        assert!(!h.verify(b"hunter3").unwrap());
    }

    #[test]
    fn kratos_altered_signer_key() {
        let altered = KRATOS.replace("AwPKyw==", "AwPKyc==");
        assert!(!parse(&altered)
            .map(|h| h.verify(b"8x4WjoDbSxJZdR").unwrap())
            .unwrap_or(false));
    }

    #[test]
    fn malformed_hashes() {
        let fields = "sPtDhWcd1MfdAw==$xbSo$Bw==$YE0dYE0d";
        for bad in [
            "$firescrypt$".to_owned(),
            format!("$firescrypt$ln=14,r=8,p=1${fields}"),
            "$firescrypt$ln=14,r=8,p=1$c2FsdA==$YWJj$Bw==".to_owned(),
            "$firescrypt$ln=14,r=8,p=1$c2FsdA==$YWJj$Bw==$YWJj$".to_owned(),
            "$firescrypt$ln=14,r=8,p=1$c2FsdA==$YWJj$Bw==$YWI=".to_owned(),
            "$firescrypt$ln=14,r=8,p=1$c2FsdA==$$Bw==$".to_owned(),
            "$firescrypt$ln=14,r=8,p=1$c2FsdA$YWJj$Bw==$YWJj".to_owned(),
            "$firescrypt$ln=0,r=8,p=1$c2FsdA==$YWJj$Bw==$YWJj".to_owned(),
            "$firescrypt$ln=64,r=8,p=1$c2FsdA==$YWJj$Bw==$YWJj".to_owned(),
            "$firescrypt$ln=4294967296,r=8,p=1$c2FsdA==$YWJj$Bw==$YWJj".to_owned(),
            "$firescrypt$ln=14,r=0,p=1$c2FsdA==$YWJj$Bw==$YWJj".to_owned(),
            "$firescrypt$ln=14,r=8$c2FsdA==$YWJj$Bw==$YWJj".to_owned(),
        ] {
            assert!(
                matches!(parse(&bad), Err(HashError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
