//! ULID ids: 26 characters of Crockford base32. Lowercase input is accepted and normalised to
//! uppercase; generated ids are monotonic within one millisecond (ULID spec, "monotonicity").

use ulid::Ulid;

/// The owner id of every built-in template.
pub const BUILTIN_OWNER: &str = "00000000000000000000000000";

/// Parses and normalises an id; `None` when it is not a ULID (wrong length, alphabet, or
/// a value above the 128-bit range, i.e. a first character beyond `7`).
pub fn normalize_id(s: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes = s.as_bytes();
    // 26 symbols of 5 bits carry 130 bits: the first symbol may only use the low 3.
    if bytes.len() != 26 || !(b'0'..=b'7').contains(&bytes[0]) {
        return None;
    }
    if !bytes.iter().all(|b| ALPHABET.contains(&b.to_ascii_uppercase())) {
        return None;
    }
    Ulid::from_string(s).ok().map(|u| u.to_string())
}

pub fn is_canonical_id(s: &str) -> bool {
    normalize_id(s).as_deref() == Some(s)
}

/// Monotonic ULID generator. The clock and the randomness are passed in, so the same code runs
/// natively and in the browser (where `SystemTime` does not exist).
#[derive(Debug, Default, Clone)]
pub struct IdGenerator {
    last: Option<Ulid>,
}

impl IdGenerator {
    pub fn new() -> Self {
        Self::default()
    }

    /// `now_ms`: milliseconds since the Unix epoch; `random`: 80 fresh random bits (higher
    /// bits are ignored).
    pub fn next(&mut self, now_ms: u64, random: u128) -> String {
        let candidate = Ulid::from_parts(now_ms, random & ((1u128 << 80) - 1));
        let id = match self.last {
            // Same millisecond (or a clock that went backwards): increment the last id so the
            // order of creation is the order of ids.
            Some(last) if candidate <= last => last
                .increment()
                // 2^80 ids in one millisecond: borrow the next millisecond rather than repeat.
                .unwrap_or_else(|| Ulid::from_parts(last.timestamp_ms() + 1, 0)),
            _ => candidate,
        };
        self.last = Some(id);
        id.to_string()
    }
}

/// 80 random bits from the platform's cryptographic source.
pub fn random_bits() -> u128 {
    let mut b = [0u8; 16];
    // getrandom only fails where no entropy source exists at all; fall back to zero bits,
    // which still yields valid (and, thanks to monotonic increment, unique) ids.
    let _ = getrandom::fill(&mut b);
    u128::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_lowercase() {
        let id = "01arz3ndektsv4rrffq69g5fav";
        assert_eq!(normalize_id(id).unwrap(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert!(!is_canonical_id(id));
        assert!(is_canonical_id("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    }

    #[test]
    fn refuses_non_ulids() {
        for bad in ["", "x", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVV", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAU", "01ARZ3NDEKTSV4RRFFQ69G5FAé"] {
            assert!(normalize_id(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn monotonic_within_a_millisecond() {
        let mut g = IdGenerator::new();
        let a = g.next(1000, 7);
        let b = g.next(1000, 0);
        let c = g.next(999, 5);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a.len(), 26);
    }
}
