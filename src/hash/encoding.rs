//! Shared parsing helpers: base64 engines, strict decimals, `k=v` parameter lists, hex and constant-time comparison.

use base64::alphabet;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD,
};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use subtle::ConstantTimeEq;

/// Standard alphabet with mandatory padding; non-zero trailing bits are rejected.
pub(crate) const B64_PADDED: GeneralPurpose = STANDARD;

/// Standard alphabet without padding; non-zero trailing bits are rejected.
pub(crate) const B64_RAW: GeneralPurpose = STANDARD_NO_PAD;

/// Standard alphabet with mandatory padding that tolerates non-zero trailing bits.
pub(crate) const B64_PADDED_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Decodes `input` with `engine`, returning `None` on any decoding error.
pub(crate) fn decode_b64(engine: &GeneralPurpose, input: &str) -> Option<Vec<u8>> {
    engine.decode(input).ok()
}

/// Parses a non-empty run of ASCII digits (no sign, no whitespace).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `k1=v1,k2=v2,...` where the keys must appear exactly in the given
/// order and every value is a decimal number.
pub(crate) fn parse_params<const N: usize>(segment: &str, keys: [&str; N]) -> Option<[u64; N]> {
    let mut values = [0u64; N];
    let mut pieces = segment.split(',');
    for (key, slot) in keys.iter().zip(values.iter_mut()) {
        let value = pieces.next()?.strip_prefix(key)?.strip_prefix('=')?;
        *slot = parse_decimal(value)?;
    }
    if pieces.next().is_some() {
        return None;
    }
    Some(values)
}

/// Decodes a hexadecimal string (either case) into bytes.
pub(crate) fn decode_hex(input: &[u8]) -> Option<Vec<u8>> {
    if !input.len().is_multiple_of(2) {
        return None;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    input
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

/// Compares two byte strings in constant time (for equal lengths).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_strict() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("0042"), Some(42));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1a",
            "18446744073709551616",
            "٣",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn params_need_exact_keys_in_order() {
        assert_eq!(
            parse_params("m=1,t=2,p=3", ["m", "t", "p"]),
            Some([1, 2, 3])
        );
        assert_eq!(parse_params("t=2,m=1,p=3", ["m", "t", "p"]), None);
        assert_eq!(parse_params("m=1,t=2", ["m", "t", "p"]), None);
        assert_eq!(parse_params("m=1,t=2,p=3,x=4", ["m", "t", "p"]), None);
        assert_eq!(parse_params("m=1,t=,p=3", ["m", "t", "p"]), None);
        assert_eq!(parse_params("mm=1,t=2,p=3", ["m", "t", "p"]), None);
        assert_eq!(parse_params("", ["m"]), None);
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex(b"00fFa1"), Some(vec![0x00, 0xff, 0xa1]));
        assert_eq!(decode_hex(b""), Some(vec![]));
        assert_eq!(decode_hex(b"abc"), None);
        assert_eq!(decode_hex(b"zz"), None);
    }

    #[test]
    fn base64_engines() {
        assert_eq!(decode_b64(&B64_PADDED, "YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode_b64(&B64_PADDED, "YQ"), None);
        assert_eq!(decode_b64(&B64_PADDED, "YR=="), None);
        assert_eq!(decode_b64(&B64_PADDED_LENIENT, "YR=="), Some(b"a".to_vec()));
        assert_eq!(decode_b64(&B64_RAW, "YQ"), Some(b"a".to_vec()));
        assert_eq!(decode_b64(&B64_RAW, "YQ=="), None);
    }
}
