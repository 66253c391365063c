//! The thin wasm-bindgen facade: converts values and errors, nothing else. Names follow
//! SPEC section 14 (camelCase methods, snake_case record fields).

mod catalog;
pub mod convert;
pub mod remote;
pub mod store;

pub use catalog::TemplateCatalog;

use std::cell::RefCell;

use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::model::id::{random_bits, IdGenerator};
use convert::{from_js, to_js};

thread_local! {
    static IDS: RefCell<IdGenerator> = RefCell::new(IdGenerator::new());
}

pub(crate) fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// A new ULID (uppercase, monotonic within a millisecond).
#[wasm_bindgen(js_name = newId)]
pub fn new_id() -> String {
    IDS.with(|g| g.borrow_mut().next(now_ms().max(0) as u64, random_bits()))
}

/// The built-in templates (without usage statistics; a catalog's `get` adds them).
#[wasm_bindgen(js_name = builtinTemplates, unchecked_return_type = "WorkflowTemplate[]")]
pub fn builtin_templates() -> JsValue {
    to_js(crate::builtin::all())
}

fn validation_result(violations: Vec<crate::Violation>) -> JsValue {
    to_js(&json!({ "ok": violations.is_empty(), "violations": violations }))
}

/// `{ ok, violations: [{ field, code, message }] }` for a template (draft or whole record).
#[wasm_bindgen(js_name = validateTemplate, unchecked_return_type = "ValidationResult")]
pub fn validate_template(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ValidateOptions")] options: JsValue,
) -> JsValue {
    let opts = validate_options(&options);
    match from_js(&value) {
        Ok(v) => validation_result(crate::validate::validate_template(&v, opts)),
        Err(problems) => validation_result(problems),
    }
}

/// `validateTemplate` over many templates in one call: an array of values, or the JSON text of
/// one (the fastest way in: one parse, no object walk). One result per item, in order; a value
/// that is not an array (or text that is not a JSON array) is INVALID_ARGUMENT.
#[wasm_bindgen(js_name = validateMany, unchecked_return_type = "ValidationResult[]")]
pub fn validate_many(
    #[wasm_bindgen(unchecked_param_type = "unknown[] | string")] values: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ValidateOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let opts = validate_options(&options);
    let all = match values.as_string() {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| convert::err(crate::Error::invalid(format!("validateMany: the text is not JSON: {e}"))))?,
        None => match from_js(&values) {
            Ok(v) => v,
            // One bad item (a cycle, a BigInt, a `__proto__` key...) must not sink the batch:
            // read the items one by one and report each item's own problems.
            Err(_) if js_sys::Array::is_array(&values) => {
                let items: Vec<JsValue> = js_sys::Array::from(&values).iter().collect();
                let results: Vec<_> = items
                    .iter()
                    .map(|item| {
                        let violations = match from_js(item) {
                            Ok(v) => crate::validate::validate_template(&v, opts),
                            Err(problems) => problems,
                        };
                        json!({ "ok": violations.is_empty(), "violations": violations })
                    })
                    .collect();
                return Ok(to_js(&results));
            }
            Err(_) => convert::arg(&values, "values")?,
        },
    };
    let serde_json::Value::Array(items) = all else {
        return Err(convert::err(crate::Error::invalid("validateMany takes an array of templates (or its JSON text)")));
    };
    let results: Vec<_> = items
        .iter()
        .map(|v| {
            let violations = crate::validate::validate_template(v, opts);
            json!({ "ok": violations.is_empty(), "violations": violations })
        })
        .collect();
    Ok(to_js(&results))
}

#[wasm_bindgen(js_name = validateSpec, unchecked_return_type = "ValidationResult")]
pub fn validate_spec(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ValidateOptions")] options: JsValue,
) -> JsValue {
    let opts = validate_options(&options);
    match from_js(&value) {
        Ok(v) => validation_result(crate::validate::validate_spec(&v, opts)),
        Err(problems) => validation_result(problems),
    }
}

fn validate_options(options: &JsValue) -> crate::validate::Options {
    let complete = from_js(options).ok().and_then(|o| o.get("complete").and_then(|c| c.as_bool())).unwrap_or(false);
    crate::validate::Options { complete, allow_builtin: false }
}

/// RFC 8785 canonical JSON text of any JSON value.
#[wasm_bindgen(js_name = canonicalJson)]
pub fn canonical_json(#[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue) -> Result<String, JsValue> {
    let v = convert::arg(&value, "value")?;
    Ok(crate::hash::canonical_json(&v))
}

/// `config_hash` of a template or draft: lowercase hex SHA-256 of the RFC 8785 form of its
/// configuration. Throws VALIDATION_FAILED when the configuration fields are invalid.
#[wasm_bindgen(js_name = configHash)]
pub fn config_hash(#[wasm_bindgen(unchecked_param_type = "TemplateDraft | WorkflowTemplate")] value: JsValue) -> Result<String, JsValue> {
    let v = convert::arg(&value, "template")?;
    crate::catalog::config_hash_of_value(v).map_err(convert::err)
}

/// Every error code the package can throw.
#[wasm_bindgen(js_name = errorCodes, unchecked_return_type = "ErrorCode[]")]
pub fn error_codes() -> JsValue {
    to_js(&crate::error::ERROR_CODES)
}

/// Violation codes found while reading a JS value, before validation proper (js/convert.js).
pub const BOUNDARY_CODES: &[&str] = &["LONE_SURROGATE", "NOT_FINITE", "CYCLE", "UNREADABLE"];

/// Violation codes `importAll` uses for records that are well-formed but cannot be accepted
/// (they are the matching error codes, reported per record).
pub const IMPORT_CODES: &[&str] = &["FORBIDDEN", "NOT_FOUND", "BASE_NOT_FOUND", "INHERITANCE_CYCLE", "INHERITANCE_TOO_DEEP"];

/// Every violation code `validateTemplate`, `validateSpec` and VALIDATION_FAILED can carry.
#[wasm_bindgen(js_name = violationCodes, unchecked_return_type = "ViolationCode[]")]
pub fn violation_codes() -> JsValue {
    let mut all: Vec<&str> = crate::validate::VIOLATION_CODES.to_vec();
    for c in BOUNDARY_CODES.iter().chain(IMPORT_CODES) {
        if !all.contains(c) {
            all.push(c);
        }
    }
    to_js(&all)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("types.d.ts");
