//! `config_hash` (SPEC section 4): lowercase hex SHA-256 of the RFC 8785 (JCS) serialisation of
//! a record's configuration. Any JCS implementation plus SHA-256 reproduces it; the vectors in
//! `tests/vectors/` prove that against independent implementations.
//!
//! The canonical form is written straight from `serde_json::Value` into a sink (a byte buffer,
//! the SHA-256 state, or a byte counter), so hashing and the canonical-size checks of validation
//! build no intermediate text or tree. Numbers are written as ECMAScript's
//! `Number.prototype.toString` writes them, which RFC 8785 prescribes (`number.rs`: ryu-js
//! natively, zmij's digits on wasm32).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::WorkflowType;

mod number;
mod of_value;
pub use number::js_number;
pub use of_value::config_hash_of_value;

/// The behaviour-defining part of a template: what `config_hash` covers.
#[derive(Debug, Clone, Copy)]
pub struct ConfigParts<'a> {
    pub workflow_type: WorkflowType,
    pub default_params: &'a Map<String, Value>,
    pub required_tools: &'a [String],
    pub required_retrievers: &'a [String],
    pub base_template_id: Option<&'a str>,
}

/// The configuration object that is hashed: null lists become `[]`, both lists sorted by code
/// point (Rust's `str` order is code point order).
pub fn config_value(p: &ConfigParts) -> Value {
    obj!({
        "workflow_type": p.workflow_type.as_str(),
        "default_params": p.default_params,
        "required_tools": sorted(p.required_tools),
        "required_retrievers": sorted(p.required_retrievers),
        "base_template_id": p.base_template_id,
    })
}

fn sorted(list: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = list.iter().map(String::as_str).collect();
    // crate::sort, not sort_unstable: one instantiation of the standard sort for the crate.
    crate::sort::sort_by(&mut v, |a, b| a.cmp(b));
    v
}

/// Where canonical bytes go.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Counts bytes only (the canonical size limits of SPEC section 3).
#[derive(Debug, Default)]
pub struct Count(pub usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// RFC 8785 canonical JSON text of a value. serde_json values cannot hold NaN or infinities,
/// so this cannot fail; numbers are written as ECMAScript's Number.prototype.toString does.
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(v, &mut out);
    // Only whole UTF-8 strings and ASCII were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Length in bytes of [`canonical_json`] of `v`, without building it.
pub fn canonical_len(v: &Value) -> usize {
    let mut c = Count(0);
    write_canonical(v, &mut c);
    c.0
}

/// Writes the RFC 8785 form of `v`. Recursion follows the value's nesting, which serde_json's
/// parser bounds (128) and validation bounds further (32).
pub fn write_canonical<S: Sink + ?Sized>(v: &Value, out: &mut S) {
    match v {
        Value::Null => out.put(b"null"),
        Value::Bool(true) => out.put(b"true"),
        Value::Bool(false) => out.put(b"false"),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            // Integers exactly representable as doubles print as their digits in ECMAScript
            // too (no exponent below 1e21): no float formatting needed.
            (Some(u), _) if u <= MAX_EXACT => out.put(itoa::Buffer::new().format(u).as_bytes()),
            (_, Some(i)) if i.unsigned_abs() <= MAX_EXACT => out.put(itoa::Buffer::new().format(i).as_bytes()),
            _ => write_float(n.as_f64().unwrap_or(0.0), out),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.put(b"[");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_canonical(x, out);
            }
            out.put(b"]");
        }
        Value::Object(m) => write_object(m, out),
    }
}

fn write_object<S: Sink + ?Sized>(m: &Map<String, Value>, out: &mut S) {
    out.put(b"{");
    if in_utf16_order(m) {
        for (i, (k, x)) in m.iter().enumerate() {
            write_member(i, k, x, out);
        }
    } else {
        let mut members: Vec<(&String, &Value)> = m.iter().collect();
        crate::sort::sort_by(&mut members, |a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        for (i, (k, x)) in members.into_iter().enumerate() {
            write_member(i, k, x, out);
        }
    }
    out.put(b"}");
}

fn write_member<S: Sink + ?Sized>(i: usize, key: &str, v: &Value, out: &mut S) {
    if i > 0 {
        out.put(b",");
    }
    write_string(key, out);
    out.put(b":");
    write_canonical(v, out);
}

/// RFC 8785 sorts members by their keys' UTF-16 code units. Byte order of UTF-8 is code point
/// order, which agrees with UTF-16 order unless a key holds a character above U+FFFF (a 4-byte
/// sequence, lead byte >= 0xF0). So a map whose iteration is strictly increasing by bytes and
/// has no such key is already in order (the common case: no allocation, no sort).
fn in_utf16_order(m: &Map<String, Value>) -> bool {
    let mut prev: Option<&str> = None;
    for k in m.keys() {
        if k.bytes().any(|b| b >= 0xF0) || prev.is_some_and(|p| p.as_bytes() >= k.as_bytes()) {
            return false;
        }
        prev = Some(k);
    }
    true
}

/// Lowercase hex digits (string escapes and digests).
const HEX: &[u8; 16] = b"0123456789abcdef";

/// 2^53: every integer up to it is a double.
const MAX_EXACT: u64 = 1 << 53;

/// A double that serde_json holds as a float (`number.rs` writes it).
fn write_float<S: Sink + ?Sized>(f: f64, out: &mut S) {
    if f.is_finite() {
        out.put(number::Buf::default().text(f));
    } else {
        out.put(b"null"); // unreachable for serde_json values; never invalid JSON
    }
}

/// A JSON string as ECMAScript's JSON.stringify writes it (RFC 8785 section 3.2.2.2): `"` and
/// `\` escaped, the five short escapes, other controls as lowercase `\u00xx`, the rest verbatim.
fn write_string<S: Sink + ?Sized>(s: &str, out: &mut S) {
    out.put(b"\"");
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]],
            _ => continue,
        };
        out.put(&bytes[start..i]);
        out.put(esc);
        start = i + 1;
    }
    out.put(&bytes[start..]);
    out.put(b"\"");
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for &b in digest {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// Writes the canonical configuration object of `p` (what [`config_value`] builds, members in
/// RFC 8785 order: all keys are ASCII, so byte order is UTF-16 order).
pub fn write_config<S: Sink + ?Sized>(p: &ConfigParts, out: &mut S) {
    out.put(b"{\"base_template_id\":");
    match p.base_template_id {
        Some(id) => write_string(id, out),
        None => out.put(b"null"),
    }
    out.put(b",\"default_params\":");
    write_object(p.default_params, out);
    out.put(b",\"required_retrievers\":");
    write_list(p.required_retrievers, out);
    out.put(b",\"required_tools\":");
    write_list(p.required_tools, out);
    out.put(b",\"workflow_type\":");
    write_string(p.workflow_type.as_str(), out);
    out.put(b"}");
}

/// A list of names sorted by code point (UTF-8 byte order).
fn write_list<S: Sink + ?Sized>(list: &[String], out: &mut S) {
    out.put(b"[");
    for (i, s) in sorted(list).into_iter().enumerate() {
        if i > 0 {
            out.put(b",");
        }
        write_string(s, out);
    }
    out.put(b"]");
}

pub fn config_hash(p: &ConfigParts) -> String {
    let mut h = Sha256::new();
    write_config(p, &mut h);
    hex(&h.finalize())
}

/// Is this a well-formed hash (64 lowercase hex characters)?
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_escape_like_json_stringify() {
        let v = Value::String("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}\u{2028}é😀".into());
        assert_eq!(canonical_json(&v), "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}\u{2028}é😀\"");
    }

    #[test]
    fn members_sort_by_utf16_code_units_not_code_points() {
        // U+FF61 is one UTF-16 unit (0xFF61); U+1F600 is a surrogate pair starting 0xD83D, so in
        // UTF-16 order the emoji key comes first although its code point is larger.
        let v = json!({ "\u{ff61}": 1, "\u{1f600}": 2, "a": 3, "": 4 });
        assert_eq!(canonical_json(&v), "{\"\":4,\"a\":3,\"\u{1f600}\":2,\"\u{ff61}\":1}");
    }

    #[test]
    fn numbers_follow_ecmascript() {
        let v: Value = serde_json::from_str(
            "[0, -0, 1e21, 1e-7, 123.0, 0.1, 9007199254740991, -5, 1.5e300, 9007199254740992, 9007199254740993, -9007199254740993, 18446744073709551615]",
        )
        .unwrap();
        assert_eq!(
            canonical_json(&v),
            "[0,0,1e+21,1e-7,123,0.1,9007199254740991,-5,1.5e+300,9007199254740992,9007199254740992,-9007199254740992,18446744073709552000]"
        );
    }

    #[test]
    fn config_streaming_equals_canonical_text_of_config_value() {
        let params = json!({ "z": [1, {"b": 2, "a": 1}], "model": "gpt", "ünï": null });
        let tools = vec!["web.search".to_string(), "calc".to_string()];
        let retr = vec![];
        for base in [None, Some("01J0BASE0000000000000000AA")] {
            let p = ConfigParts {
                workflow_type: WorkflowType::Tools,
                default_params: params.as_object().unwrap(),
                required_tools: &tools,
                required_retrievers: &retr,
                base_template_id: base,
            };
            let text = canonical_json(&config_value(&p));
            let mut streamed = Vec::new();
            write_config(&p, &mut streamed);
            assert_eq!(String::from_utf8(streamed).unwrap(), text);
            assert_eq!(config_hash(&p), sha256_hex(text.as_bytes()));
            assert_eq!(canonical_len(&config_value(&p)), text.len());
        }
    }
}
