//! Timestamps: RFC 3339 strings in UTC with millisecond precision, e.g.
//! `2026-11-25T18:40:17.123Z`. In this form, string order is time order.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses any RFC 3339 timestamp (any offset, any fraction) to milliseconds since the epoch.
/// Years outside 0000..=9999 are refused so the canonical form stays fixed-width.
pub fn parse_ms(s: &str) -> Option<i64> {
    if s.len() > 64 {
        return None;
    }
    let dt = DateTime::parse_from_rfc3339(s).ok()?;
    let ms = dt.timestamp_millis();
    let min = -62_167_219_200_000; // 0000-01-01T00:00:00Z
    let max = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    (min..=max).contains(&ms).then_some(ms)
}

/// The canonical form of a valid timestamp (UTC, milliseconds, `Z`).
pub fn normalize(s: &str) -> Option<String> {
    parse_ms(s).map(format_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_normalise() {
        assert_eq!(format_ms(1_764_096_017_123), "2025-11-25T18:40:17.123Z");
        assert_eq!(normalize("2026-11-25T19:40:17.123456+01:00").unwrap(), "2026-11-25T18:40:17.123Z");
        assert_eq!(parse_ms("2026-11-25T18:40:17.123Z"), Some(1_795_632_017_123));
        for bad in ["", "2026-11-25", "2026-13-01T00:00:00Z", "yesterday"] {
            assert!(parse_ms(bad).is_none(), "{bad}");
        }
    }
}
