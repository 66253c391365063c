//! Our RFC 3339 parser and formatter (src/model/time.rs) against chrono as the oracle: the same
//! instant for every string chrono reads, refusal of every string it refuses (within the
//! 4-digit-year bounds), and the same canonical text for every instant.

use chrono::{DateTime, SecondsFormat, Utc};
use proptest::prelude::*;
use workflow_templates::model::time::{format_ms, parse_ms, MAX_MS, MIN_MS};

fn oracle_parse(s: &str) -> Option<i64> {
    if s.len() > 64 {
        return None;
    }
    let ms = DateTime::parse_from_rfc3339(s).ok()?.timestamp_millis();
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

fn oracle_format(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms.clamp(MIN_MS, MAX_MS)).unwrap().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Timestamp-shaped strings, mostly near-valid: every field may be out of range, the
/// separators and the fraction vary, and the offset is any of RFC 3339's forms or a broken one.
fn shaped() -> impl Strategy<Value = String> {
    (
        (0u32..10000, 0u32..14, 0u32..33, prop::sample::select(vec!["T", "t", " ", "_", "TT"])),
        (0u32..25, 0u32..61, 0u32..62, prop::sample::select(vec!["", ".", ".1", ".12", ".123", ".1234", ".999999999", ".0000000001", ".x"])),
        prop::sample::select(vec!["Z", "z", "+00:00", "-00:00", "+01:30", "-23:59", "+24:00", "+05:60", "+0100", "", "ZZ", "+01:00 "]),
    )
        .prop_map(|((y, mo, d, sep), (h, mi, s, frac), off)| format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{off}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn parses_like_chrono(s in shaped()) {
        prop_assert_eq!(parse_ms(&s), oracle_parse(&s), "{}", s);
    }

    #[test]
    fn refuses_what_chrono_refuses(s in "[0-9T:.Zz+ -]{0,30}") {
        prop_assert_eq!(parse_ms(&s), oracle_parse(&s), "{}", s);
    }

    #[test]
    fn formats_like_chrono(ms in any::<i64>(), near in MIN_MS - 5..MAX_MS + 5) {
        prop_assert_eq!(format_ms(ms), oracle_format(ms));
        prop_assert_eq!(format_ms(near), oracle_format(near));
        prop_assert_eq!(parse_ms(&format_ms(near)), Some(near.clamp(MIN_MS, MAX_MS)));
    }

    #[test]
    fn any_instant_with_any_offset_round_trips(ms in MIN_MS..=MAX_MS, off in -(23 * 60 + 59)..=(23 * 60 + 59i32)) {
        let fixed = chrono::FixedOffset::east_opt(off * 60).unwrap();
        let s = DateTime::<Utc>::from_timestamp_millis(ms).unwrap().with_timezone(&fixed).to_rfc3339_opts(SecondsFormat::AutoSi, false);
        prop_assert_eq!(parse_ms(&s), oracle_parse(&s), "{}", s);
    }
}
