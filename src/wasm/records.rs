//! Inheritance and diff of records the caller holds (no catalog, no storage): the functions
//! `workflow-templates/core` adds to validation and hashing. The full package has them too.

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use super::convert::{arg, err};
use crate::error::{Error, Violation};
use crate::inherit;
use crate::jsval::to_js;
use crate::model::{WorkflowTemplate, WorkflowType};
use crate::validate::{self, index_path, Options};

/// What `resolve(id)` of a catalog returns, from the records themselves: `chain` is leaf
/// first, root last (as `chain(id)` returns it), whole records. Every record is validated as a
/// whole record (built-ins included; VALIDATION_FAILED, fields as `[i].name`), then the links
/// are checked: INVALID_ARGUMENT (empty, or records after the root), BASE_NOT_FOUND (a base that
/// is not the next record, or a last record with a base), INHERITANCE_CYCLE,
/// INHERITANCE_TOO_DEEP (more than 16 records).
#[wasm_bindgen(js_name = resolveRecords, unchecked_return_type = "Resolution")]
pub fn resolve_records(#[wasm_bindgen(unchecked_param_type = "WorkflowTemplate[]")] chain: JsValue) -> Result<JsValue, JsValue> {
    let Value::Array(items) = arg(&chain, "chain")? else {
        return Err(err(Error::invalid("resolveRecords takes an array of records, the template first and its root last")));
    };
    if items.len() > inherit::MAX_DEPTH {
        let id = items[0].get("id").and_then(Value::as_str).unwrap_or("").to_string();
        return Err(err(Error::InheritanceTooDeep { id, limit: inherit::MAX_DEPTH }));
    }
    let opts = Options { complete: true, allow_builtin: true };
    let mut problems: Vec<Violation> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = index_path("", i);
        for mut v in validate::validate_template(item, opts) {
            v.field = match v.field.as_str() {
                "" => at.clone(),
                f if f.starts_with('[') => format!("{at}{f}"),
                f => format!("{at}.{f}"),
            };
            problems.push(v);
        }
    }
    if !problems.is_empty() {
        return Err(err(Error::ValidationFailed(problems)));
    }
    let records: Vec<WorkflowTemplate> = items.into_iter().map(chain_record).collect();
    inherit::resolve_records(&records).map(|r| to_js(&r)).map_err(err)
}

/// The fields inheritance reads, taken from a validated record by hand: serde's derived
/// `Deserialize` for `WorkflowTemplate` (and the float formatting of its error messages) would
/// be most of the core's wasm for one call (BENCHMARKS.md "What each change bought").
fn chain_record(v: Value) -> WorkflowTemplate {
    let Value::Object(mut m) = v else { return WorkflowTemplate::with_defaults(String::new(), String::new(), String::new()) };
    let mut text = |k: &str| match m.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let mut t = WorkflowTemplate::with_defaults(text("id").unwrap_or_default(), String::new(), String::new());
    t.name = text("name").unwrap_or_default();
    t.base_template_id = text("base_template_id");
    t.workflow_type = text("workflow_type").as_deref().and_then(WorkflowType::parse).unwrap_or(WorkflowType::Plain);
    let mut list = |k: &str| match m.remove(k) {
        Some(Value::Array(a)) => Some(a.into_iter().filter_map(|x| if let Value::String(s) = x { Some(s) } else { None }).collect()),
        _ => None,
    };
    t.required_tools = list("required_tools");
    t.required_retrievers = list("required_retrievers");
    if let Some(Value::Object(p)) = m.remove("default_params") {
        t.default_params = p;
    }
    t
}

/// The deep merge of `default_params` (SPEC section 5): `derived` over `base`, objects merged
/// key by key, `null` removing what is inherited, arrays and scalars replaced. Returns a new
/// object; both arguments must be objects (INVALID_ARGUMENT otherwise).
#[wasm_bindgen(js_name = mergeParams, unchecked_return_type = "Record<string, JsonValue>")]
pub fn merge_params(
    #[wasm_bindgen(unchecked_param_type = "Record<string, JsonValue>")] base: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, JsonValue>")] derived: JsValue,
) -> Result<JsValue, JsValue> {
    let mut base = object(arg(&base, "base")?, "base")?;
    let derived = object(arg(&derived, "derived")?, "derived")?;
    inherit::merge_params(&mut base, &derived);
    Ok(to_js(&base))
}

/// The field-level changes from `before` to `after` (SPEC section 6; what a catalog's
/// `diff(idA, idB)` returns for two stored records), for any two JSON values:
/// `[{ path, op, before, after }]` sorted by path.
#[wasm_bindgen(js_name = diffRecords, unchecked_return_type = "Change[]")]
pub fn diff_records(
    #[wasm_bindgen(unchecked_param_type = "unknown")] before: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] after: JsValue,
) -> Result<JsValue, JsValue> {
    let a = arg(&before, "before")?;
    let b = arg(&after, "after")?;
    Ok(to_js(&inherit::diff(&a, &b)))
}

fn object(v: Value, what: &str) -> Result<Map<String, Value>, JsValue> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(err(Error::invalid(format!("mergeParams: {what} must be an object, got {}", validate::type_name(&other))))),
    }
}
