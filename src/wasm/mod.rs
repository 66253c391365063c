//! The thin wasm-bindgen facade: converts values and errors, nothing else. Names follow
//! SPEC section 14 (camelCase methods, snake_case record fields).

#[cfg(feature = "catalog")]
mod args;
#[cfg(feature = "catalog")]
mod catalog;
pub mod convert;
#[cfg(feature = "catalog")]
mod dispatch;
#[cfg(feature = "catalog")]
mod persist;
mod records;
#[cfg(feature = "catalog")]
pub mod remote;
#[cfg(feature = "catalog")]
mod replica;
#[cfg(feature = "catalog")]
pub mod store;

#[cfg(feature = "catalog")]
pub use catalog::TemplateCatalog;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::jsval::{self, from_js, to_js};
use crate::model::id::{random_bits, IdGenerator};

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
#[cfg(feature = "catalog")]
#[wasm_bindgen(js_name = builtinTemplates, unchecked_return_type = "WorkflowTemplate[]")]
pub fn builtin_templates() -> JsValue {
    to_js(crate::builtin::all())
}

fn validation_result(violations: Vec<crate::Violation>) -> JsValue {
    to_js(&result_of(violations))
}

fn result_of(violations: Vec<crate::Violation>) -> serde_json::Value {
    obj!({ "ok": violations.is_empty(), "violations": violations })
}

/// Validates a converted value: the boundary problems merged with the rule violations of the
/// clean copy (not validated at all when the problem list was cut short).
fn validated(c: jsval::Converted, check: impl Fn(&serde_json::Value) -> Vec<crate::Violation>) -> Vec<crate::Violation> {
    if c.problems.is_empty() {
        check(&c.value)
    } else if c.problems.dropped > 0 {
        c.problems.merge(Vec::new())
    } else {
        c.problems.merge(check(&c.value))
    }
}

/// `{ ok, violations: [{ field, code, message }] }` for a template (draft or whole record).
#[wasm_bindgen(js_name = validateTemplate, unchecked_return_type = "ValidationResult")]
pub fn validate_template(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ValidateOptions")] options: JsValue,
) -> JsValue {
    let opts = validate_options(&options);
    validation_result(validated(jsval::convert(&value), |v| crate::validate::validate_template(v, opts)))
}

/// Most items one `validateMany` call takes (an array, or the JSON text of one).
pub const MAX_BATCH: usize = 1 << 20;

/// `validateTemplate` over many templates in one call: an array of values, or the JSON text of
/// one (the fastest way in: one parse, no object walk). One result per item, in order, the
/// same for the text as for the parsed array; a value that is not an array (or text that is
/// not a JSON array), or one of more than [`MAX_BATCH`] items, is INVALID_ARGUMENT.
#[wasm_bindgen(js_name = validateMany, unchecked_return_type = "ValidationResult[]")]
pub fn validate_many(
    #[wasm_bindgen(unchecked_param_type = "unknown[] | string")] values: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ValidateOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let opts = validate_options(&options);
    let check = |v: &serde_json::Value| crate::validate::validate_template(v, opts);
    let not_array = || convert::err(crate::Error::invalid("validateMany takes an array of templates (or its JSON text)"));
    let too_many = |n: usize| convert::err(crate::Error::invalid(format!("validateMany takes at most {MAX_BATCH} items (got {n})")));
    let values = match values.as_string() {
        None => values,
        Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Array(items)) => {
                if items.len() > MAX_BATCH {
                    return Err(too_many(items.len()));
                }
                // The bounds the JS walk applies to a value apply to text too, so an item gives
                // the same answer either way.
                let results: Vec<_> = items
                    .into_iter()
                    .map(|mut item| {
                        let mut problems = Vec::new();
                        crate::validate::boundary::bound_parsed(&mut item, &mut problems);
                        let rules = check(&item);
                        result_of(crate::validate::boundary::merge(problems, 0, rules))
                    })
                    .collect();
                return Ok(to_js(&results));
            }
            Ok(_) => return Err(not_array()),
            // serde_json refuses escaped lone surrogates, numbers beyond f64 and nesting beyond
            // 128; JSON.parse takes them, and the walk below reports them per item.
            Err(e) => match jsval::parse_json_in_js(&text) {
                Ok(parsed) => parsed,
                Err(_) => return Err(convert::err(crate::Error::invalid(format!("validateMany: the text is not JSON: {e}")))),
            },
        },
    };
    let Some(n) = jsval::array_length(&values) else { return Err(not_array()) };
    let n_items = n as usize;
    if n_items > MAX_BATCH {
        return Err(too_many(n_items));
    }
    if n_items <= crate::validate::boundary::MAX_ITEMS {
        let whole = jsval::convert(&values);
        if whole.problems.is_empty() {
            if let serde_json::Value::Array(items) = whole.value {
                return Ok(to_js(&items.iter().map(|v| result_of(check(v))).collect::<Vec<_>>()));
            }
        }
    }
    // One bad item (a cycle, a BigInt, a `__proto__` key...) must not sink the batch: read the
    // items one by one and report each item's own problems.
    let results: Vec<_> = (0..n).map(|i| result_of(validated(jsval::convert_item(&values, i), check))).collect();
    Ok(to_js(&results))
}

#[wasm_bindgen(js_name = validateSpec, unchecked_return_type = "ValidationResult")]
pub fn validate_spec(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ValidateOptions")] options: JsValue,
) -> JsValue {
    let opts = validate_options(&options);
    validation_result(validated(jsval::convert(&value), |v| crate::validate::validate_spec(v, opts)))
}

fn validate_options(options: &JsValue) -> crate::validate::Options {
    let complete = from_js(options).ok().and_then(|o| o.get("complete").and_then(|c| c.as_bool())).unwrap_or(false);
    crate::validate::Options { complete, allow_builtin: false }
}

/// RFC 8785 canonical JSON text of any JSON value. A value that is not JSON (a BigInt, a cycle,
/// a lone surrogate...) is INVALID_ARGUMENT with `details.violations` locating each problem.
#[wasm_bindgen(js_name = canonicalJson)]
pub fn canonical_json(#[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue) -> Result<String, JsValue> {
    let v = convert::arg(&value, "value")?;
    Ok(crate::hash::canonical_json(&v))
}

/// `config_hash` of a template or draft: lowercase hex SHA-256 of the RFC 8785 form of its
/// configuration. Throws VALIDATION_FAILED when the configuration fields are invalid or the
/// value holds something that is not JSON (both are listed).
#[wasm_bindgen(js_name = configHash)]
pub fn config_hash(#[wasm_bindgen(unchecked_param_type = "TemplateDraft | WorkflowTemplate")] value: JsValue) -> Result<String, JsValue> {
    let c = jsval::convert(&value);
    if c.problems.is_empty() {
        return crate::hash::config_hash_of_value(c.value).map_err(convert::err);
    }
    let rules = match crate::hash::config_hash_of_value(c.value) {
        Err(crate::Error::ValidationFailed(rules)) if c.problems.dropped == 0 => rules,
        _ => Vec::new(),
    };
    Err(convert::err(crate::Error::ValidationFailed(c.problems.merge(rules))))
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
