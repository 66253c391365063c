//! The two record types of the schema and its two enums, serialised with the schema's column
//! names; ids and timestamps.

pub mod canonical;
pub mod etag;
pub mod enums;
pub mod id;
pub mod spec;
pub mod template;
pub mod time;

pub use enums::{TemplateCategory, WorkflowType};
pub use spec::TemplateSpec;
pub use template::{UsageStats, WorkflowTemplate};

/// Largest integer JavaScript holds exactly (2^53 - 1): the bound for every counter and every
/// JSON number (I-JSON, RFC 7493).
pub const MAX_SAFE_INTEGER: u64 = (1u64 << 53) - 1;

/// A typed record (a derived `Deserialize`) from a JSON value; the error is serde's message.
///
/// On wasm32 this goes through the value's JSON text: every record type's `Deserialize` is then
/// instantiated for one deserializer, serde_json's text parser (which stored rows already use),
/// instead of two; the value deserializer's copies were ~25 KB of the wasm (BENCHMARKS.md
/// "Size: what each change bought"). The text round-trips exactly (numbers print shortest and
/// parse to the same double), and the message is the value deserializer's: the text parser's
/// " at line L column C" is cut. Natively (the server) the value is read directly.
pub fn from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
    #[cfg(target_arch = "wasm32")]
    {
        from_value_text(&v)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

/// [`from_value`] on wasm32: through the value's text, with the value deserializer's message.
#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
fn from_value_text<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, String> {
    serde_json::from_str(&v.to_string()).map_err(|e| {
        let text = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        match text.strip_suffix(&at) {
            Some(message) => message.to_string(),
            None => text,
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{from_value_text, TemplateSpec, WorkflowTemplate};

    /// The text path (wasm32) answers what the value deserializer answers: the same record, or
    /// the same message, for good records and for every kind of shape error.
    #[test]
    fn text_path_answers_as_the_value_deserializer() {
        let good = json!({
            "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-02T00:00:00.000Z", "owner_id": "01BX5ZZKBKACTAV9WEVGEMMVRZ",
            "name": "Support Bot", "description": "d", "workflow_type": "full", "category": "general",
            "default_params": { "model": { "temperature": 0.2 } }, "required_tools": ["a"],
            "required_retrievers": null, "base_template_id": null, "is_builtin": false, "version": 2,
            "is_latest": true, "changelog": null, "is_public": true, "rating": 4.5, "rating_count": 2,
            "usage_count": 10, "success_rate": 0.9, "avg_response_time_ms": 1200, "last_used_at": null,
            "total_tokens_used": 12345, "total_cost": 1.25, "avg_tokens_per_use": 0.1,
            "tags": ["x"], "extra_metadata": null, "config_hash": "", "estimated_complexity": 3
        });
        assert!(serde_json::from_value::<WorkflowTemplate>(good.clone()).is_ok());
        let mut cases: Vec<Value> = vec![good.clone(), json!(null), json!([1]), json!("x"), json!({})];
        for (k, bad) in [
            ("version", json!(1.5)),
            ("version", json!(-1)),
            ("version", json!("1")),
            ("name", json!(7)),
            ("workflow_type", json!("nope")),
            ("tags", json!({ "a": 1 })),
            ("rating", json!(1e300)),
            ("usage_count", json!(18446744073709551616.0)),
            ("default_params", json!({ "deep": [[[{ "x": 0.1 }]]] })),
        ] {
            let mut v = good.clone();
            v[k] = bad;
            cases.push(v);
        }
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("owner_id");
        cases.push(missing);
        for v in cases {
            let direct: Result<WorkflowTemplate, String> = serde_json::from_value(v.clone()).map_err(|e| e.to_string());
            let text: Result<WorkflowTemplate, String> = from_value_text(&v);
            assert_eq!(text, direct, "{v}");
            let direct: Result<TemplateSpec, String> = serde_json::from_value(v.clone()).map_err(|e| e.to_string());
            assert_eq!(from_value_text::<TemplateSpec>(&v), direct, "{v}");
        }
    }
}
