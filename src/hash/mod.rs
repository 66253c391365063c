//! `config_hash` (SPEC section 4): lowercase hex SHA-256 of the RFC 8785 (JCS) serialisation of
//! a record's configuration. Any JCS implementation plus SHA-256 reproduces it; the vectors in
//! `tests/vectors/` prove that against independent implementations.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::model::WorkflowType;

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
    let mut tools: Vec<&str> = p.required_tools.iter().map(String::as_str).collect();
    let mut retrievers: Vec<&str> = p.required_retrievers.iter().map(String::as_str).collect();
    tools.sort_unstable();
    retrievers.sort_unstable();
    json!({
        "workflow_type": p.workflow_type.as_str(),
        "default_params": p.default_params,
        "required_tools": tools,
        "required_retrievers": retrievers,
        "base_template_id": p.base_template_id,
    })
}

/// RFC 8785 canonical JSON text of a value. serde_json values cannot hold NaN or infinities,
/// so this cannot fail; numbers are written as ECMAScript's Number.prototype.toString does.
pub fn canonical_json(v: &Value) -> String {
    serde_json_canonicalizer::to_string(v).unwrap_or_default()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        out.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
    }
    out
}

pub fn config_hash(p: &ConfigParts) -> String {
    sha256_hex(canonical_json(&config_value(p)).as_bytes())
}

/// Is this a well-formed hash (64 lowercase hex characters)?
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
