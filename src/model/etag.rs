//! The entity tag of one template or spec representation (issue 15; server/README.md
//! "If-Match / ETag"): `<updated_at>.<stats part>`, where the stats part is the first 16
//! lowercase hex digits of SHA-256 over the record's RFC 8785 canonical JSON. An entity tag
//! changes when the representation does (RFC 9110 section 8.8.1), and usage and ratings change
//! a record without moving its `updated_at`; so a conditional GET never answers 304 over changed
//! statistics. The content part alone is what a write precondition (`If-Match`) compares:
//! statistics are server-maintained and no write overwrites them. The server and an offline
//! replica (which revalidates a held copy with the tag derived from it) share this function.

use serde_json::Value;

/// Hex digits of the stats part.
const STATS_LEN: usize = 16;

/// The tag (opaque-tag, without quotes) of a record's JSON: `None` for a value without a string
/// `updated_at` and `id` (not one record).
pub fn representation_etag(record: &Value) -> Option<String> {
    let at = record.get("updated_at")?.as_str()?;
    record.get("id")?.as_str()?;
    let digest = crate::hash::sha256_hex(crate::hash::canonical_json(record).as_bytes());
    Some(format!("{at}.{}", &digest[..STATS_LEN]))
}

/// The content part of an opaque-tag: without its `.<16 lowercase hex>` stats part when it has
/// one, else the tag as given (the bare `updated_at` a client holds, or a value this server never
/// issued, which then matches nothing).
pub fn content_part(tag: &str) -> &str {
    match tag.rsplit_once('.') {
        Some((content, stats)) if !content.is_empty() && stats.len() == STATS_LEN && stats.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => content,
        _ => tag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_tag_follows_every_field_and_its_content_part_is_updated_at() {
        let a = json!({ "id": "X", "updated_at": "2026-01-01T00:00:00.000Z", "usage_count": 1, "rating": 4.5 });
        let t = representation_etag(&a).unwrap();
        assert_eq!(content_part(&t), "2026-01-01T00:00:00.000Z");
        let mut b = a.clone();
        b["usage_count"] = json!(2);
        assert_ne!(representation_etag(&b).unwrap(), t);
        // Key order does not matter (RFC 8785).
        let c: Value = serde_json::from_str(r#"{"rating":4.5,"usage_count":1,"updated_at":"2026-01-01T00:00:00.000Z","id":"X"}"#).unwrap();
        assert_eq!(representation_etag(&c).unwrap(), t);
        assert_eq!(representation_etag(&json!({ "updated_at": "x" })), None);
        for odd in ["2026-01-01T00:00:00.000Z", "a.zz", "a.", ".0123456789abcdef", "a.0123456789ABCDEF", "a.0123456789abcde"] {
            assert_eq!(content_part(odd), odd);
        }
    }
}
