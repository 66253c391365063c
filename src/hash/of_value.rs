//! `config_hash` of a JS-supplied value (a draft or a whole record): the fields the hash covers
//! are picked out, validated (SPEC section 3) and hashed (SPEC section 4). Storage-free, so the
//! core entry has it too.

use serde_json::{Map, Value};

use crate::error::{Error, Result, Violation};
use crate::model::id::normalize_id;
use crate::validate::{self, Options};

/// `config_hash` of any template-shaped value (a draft or a whole record): only the fields the
/// hash covers are read, and they must be valid.
pub fn config_hash_of_value(v: Value) -> Result<String> {
    let Value::Object(mut m) = v else {
        return Err(Error::ValidationFailed(vec![Violation::new("", validate::TYPE, format!("a template must be an object, got {}", validate::type_name(&v)))]));
    };
    // Only the configuration fields are validated (moved, not copied, into a probe record).
    let mut probe = Map::new();
    probe.insert("name".into(), Value::String("probe".into()));
    for f in ["workflow_type", "default_params", "required_tools", "required_retrievers", "base_template_id"] {
        if let Some(mut x) = m.remove(f) {
            if f == "base_template_id" {
                if let Value::String(s) = &mut x {
                    if let Some(n) = normalize_id(s) {
                        *s = n;
                    }
                }
            }
            probe.insert(f.into(), x);
        }
    }
    let probe = Value::Object(probe);
    let v: Vec<Violation> = validate::validate_template(&probe, Options::default())
        .into_iter()
        .filter(|x| x.code != validate::WORKFLOW_TYPE_MISMATCH)
        .collect();
    if !v.is_empty() {
        return Err(Error::ValidationFailed(v));
    }
    let mut obj = match probe {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let wt = obj.get("workflow_type").and_then(Value::as_str).and_then(crate::model::WorkflowType::parse).unwrap_or(crate::model::WorkflowType::Plain);
    let params = match obj.remove("default_params") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    let strings = |x: Option<&Value>| -> Vec<String> {
        x.and_then(Value::as_array).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let tools = strings(obj.get("required_tools"));
    let retrievers = strings(obj.get("required_retrievers"));
    let base = obj.get("base_template_id").and_then(Value::as_str).map(str::to_string);
    Ok(crate::hash::config_hash(&crate::hash::ConfigParts {
        workflow_type: wt,
        default_params: &params,
        required_tools: &tools,
        required_retrievers: &retrievers,
        base_template_id: base.as_deref(),
    }))
}
