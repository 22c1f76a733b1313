//! Time helpers shared by the wire format and storage: Go-style durations, RFC 3339 output,
//! and the integer microsecond timestamps every table stores.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde::Serializer;

/// Parse a Go duration string such as `1h`, `30m`, `1h30m`, `500ms`, `24h` (what Kratos configs use).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text == "0" {
        return Some(Duration::zero());
    }
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut total_nanos: i128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total_nanos = total_nanos.checked_add((number * scale) as i128)?;
    }
    let nanos = i64::try_from(total_nanos).ok()?;
    let d = Duration::nanoseconds(nanos);
    Some(if negative { -d } else { d })
}

/// Timestamps are stored as microseconds since the Unix epoch in both databases: one column type,
/// sortable and comparable in SQL, the same text of SQL on SQLite and PostgreSQL.
pub fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or_else(|| Utc.timestamp_micros(0).single().unwrap_or_default())
}

/// RFC 3339 in UTC with as many fractional digits as needed, as Go's `time.Time` marshals.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(t))
}

pub fn serialize_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("1h"), Some(Duration::hours(1)));
        assert_eq!(parse_duration("24h"), Some(Duration::hours(24)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::milliseconds(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::milliseconds(1500)));
        assert_eq!(parse_duration("0"), Some(Duration::zero()));
        assert_eq!(parse_duration("-1m"), Some(Duration::minutes(-1)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(
            parse_duration("9999999999999999999999999999999999999999h30m"),
            None
        );
    }

    #[test]
    fn micros_round_trip() {
        let now = Utc::now();
        let back = from_micros(to_micros(now));
        assert_eq!(back.timestamp_micros(), now.timestamp_micros());
    }
}
