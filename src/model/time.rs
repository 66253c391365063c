//! Timestamps: RFC 3339 strings in UTC with millisecond precision, e.g.
//! `2026-11-25T18:40:17.123Z`. In this form, string order is time order.
//!
//! # Bounds (SPEC section 2 is silent; decided here)
//! - A timestamp is readable (valid) in `0000-01-01T00:00:00.000Z ..= 9999-12-31T23:59:59.999Z`
//!   ([`MIN_MS`], [`MAX_MS`]): the canonical form has a 4-digit year, so nothing outside it has
//!   one.
//! - A timestamp may only *enter* storage (import of any record, a bundle's `exported_at`, a
//!   reading of the clock) up to `9998-12-31T23:59:59.999Z` ([`LATEST_ACCEPTED_MS`]). The last
//!   year is headroom: every edit moves `updated_at` forward by at least 1 ms, so a record that
//!   entered at the bound can still be edited 31,536,000,000 times. Past [`MAX_MS`] an edit is
//!   refused with a coded error ([`later`]), never written as a 5-digit year.

//!
//! Parsing and formatting are written here (days from the civil date, Howard Hinnant's
//! algorithm) instead of with chrono: the wasm is smaller (BENCHMARKS.md "What each change
//! bought"), and `tests/time_props.rs` checks both against chrono as the oracle.

/// `0000-01-01T00:00:00.000Z`.
pub const MIN_MS: i64 = -62_167_219_200_000;
/// `9999-12-31T23:59:59.999Z`: the last instant with a 4-digit year.
pub const MAX_MS: i64 = 253_402_300_799_999;
/// `9998-12-31T23:59:59.999Z`: the latest timestamp an import or the clock may bring in.
pub const LATEST_ACCEPTED_MS: i64 = 253_370_764_799_999;

/// The canonical form of `ms`, clamped into [`MIN_MS`]`..=`[`MAX_MS`] (so it is always the
/// fixed-width form; callers that must not clamp use [`later`] or check first).
pub fn format_ms(ms: i64) -> String {
    let ms = ms.clamp(MIN_MS, MAX_MS);
    let (days, in_day) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (y, m, d) = civil_from_days(days);
    let (h, min, sec, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    let mut out = String::with_capacity(24);
    for (n, width, sep) in [(y, 4, '-'), (m, 2, '-'), (d, 2, 'T'), (h, 2, ':'), (min, 2, ':'), (sec, 2, '.'), (milli, 3, 'Z')] {
        let digits = itoa::Buffer::new().format(n).to_string();
        for _ in digits.len()..width {
            out.push('0');
        }
        out.push_str(&digits);
        out.push(sep);
    }
    out
}

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (valid month and day).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// RFC 3339 section 5.6 `date-time`: `YYYY-MM-DD` `T` (or `t`, or a space, as RFC 3339 allows)
/// `hh:mm:ss`, an optional fraction of one or more digits (truncated to ms), then `Z`/`z` or
/// `+hh:mm`/`-hh:mm`. A second of 60 (a leap second) counts as the next second, as chrono does.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (num(0, 4)?, num(5, 2)?, num(8, 2)?, num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut milli = 0;
    if at(i, b".") {
        i += 1;
        let start = i;
        while at(i, b"0123456789") {
            if i - start < 3 {
                milli = milli * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            milli *= 10;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if b.len() == i + 1 => 0,
        Some(&sign @ (b'+' | b'-')) if b.len() == i + 6 && at(i + 3, b":") => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 60 + om;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + milli)
}

/// Parses any RFC 3339 timestamp (any offset, any fraction) to milliseconds since the epoch.
/// Instants outside [`MIN_MS`]`..=`[`MAX_MS`] (after conversion to UTC) are refused so the
/// canonical form stays fixed-width.
pub fn parse_ms(s: &str) -> Option<i64> {
    if s.len() > 64 {
        return None;
    }
    let ms = parse_rfc3339(s)?;
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

/// The canonical form of a valid timestamp (UTC, milliseconds, `Z`).
pub fn normalize(s: &str) -> Option<String> {
    parse_ms(s).map(format_ms)
}

/// Whether a timestamp may enter storage: valid and not after [`LATEST_ACCEPTED_MS`].
pub fn acceptable(s: &str) -> bool {
    parse_ms(s).is_some_and(|ms| ms <= LATEST_ACCEPTED_MS)
}

/// A clock reading brought into [`MIN_MS`]`..=`[`LATEST_ACCEPTED_MS`] (a clock beyond the
/// bound reads as the bound).
pub fn clamp_clock(ms: i64) -> i64 {
    ms.clamp(MIN_MS, LATEST_ACCEPTED_MS)
}

/// The timestamp strictly after `prev` and not before `now` (`updated_at` of an edit):
/// `max(now, prev + 1 ms)`. `None` when that would pass [`MAX_MS`] (the caller answers with a
/// coded error); a `prev` that does not parse counts as absent.
pub fn later(prev: &str, now: i64) -> Option<String> {
    let floor = match parse_ms(prev) {
        Some(p) => p.checked_add(1)?,
        None => now,
    };
    let ms = now.max(floor);
    (MIN_MS..=MAX_MS).contains(&ms).then(|| format_ms(ms))
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

    #[test]
    fn bounds_are_the_documented_instants() {
        assert_eq!(format_ms(MIN_MS), "0000-01-01T00:00:00.000Z");
        assert_eq!(format_ms(MAX_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_ms(LATEST_ACCEPTED_MS), "9998-12-31T23:59:59.999Z");
        // Out-of-range instants never format as 5-digit or signed years.
        for ms in [i64::MIN, MIN_MS - 1, MAX_MS + 1, i64::MAX] {
            let s = format_ms(ms);
            assert_eq!(s.len(), 24, "{s}");
            assert!(parse_ms(&s).is_some(), "{s}");
        }
    }

    #[test]
    fn parser_accepts_rfc3339_and_refuses_what_leaves_the_four_digit_range() {
        // Offsets are converted: an instant that lands outside 0000..=9999 in UTC is refused.
        assert_eq!(parse_ms("9999-12-31T23:59:59.999Z"), Some(MAX_MS));
        assert_eq!(parse_ms("9999-12-31T23:59:59.999-00:01"), None);
        assert_eq!(parse_ms("0000-01-01T00:00:00Z"), Some(MIN_MS));
        assert_eq!(parse_ms("0000-01-01T00:00:00.000+00:01"), None);
        for bad in ["+10000-01-01T00:00:00.000Z", "-0001-01-01T00:00:00.000Z", "10000-01-01T00:00:00Z", "999-01-01T00:00:00Z"] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
        // Lowercase separators and a fraction finer than ms are RFC 3339 too (truncated to ms).
        assert_eq!(normalize("2026-01-01t00:00:00.1239z").as_deref(), Some("2026-01-01T00:00:00.123Z"));
    }

    #[test]
    fn later_is_checked_at_the_upper_bound() {
        assert_eq!(later("2026-01-01T00:00:00.000Z", 0).as_deref(), Some("2026-01-01T00:00:00.001Z"));
        assert_eq!(later("2026-01-01T00:00:00.000Z", 1_800_000_000_000).as_deref(), Some("2027-01-15T08:00:00.000Z"));
        assert_eq!(later("9999-12-31T23:59:59.998Z", 0).as_deref(), Some("9999-12-31T23:59:59.999Z"));
        assert_eq!(later("9999-12-31T23:59:59.999Z", 0), None);
        assert_eq!(later("not a time", 5).as_deref(), Some("1970-01-01T00:00:00.005Z"));
        assert!(acceptable("9998-12-31T23:59:59.999Z") && !acceptable("9999-01-01T00:00:00.000Z"));
        assert_eq!(clamp_clock(i64::MAX), LATEST_ACCEPTED_MS);
    }
}
