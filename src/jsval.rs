//! JS values in and out of Rust, below every layer that meets JS (README "Layout"): the store's
//! app-supplied adapter (`store::js`), the browser runtime (`browser`) and the facade (`wasm`).
//! A JS value goes through `js/convert.js` (a guarded walk that finds cycles, BigInt, Map, NaN,
//! throwing getters, lone surrogates...) and arrives as JSON text of a clean copy plus the
//! problems found, each a violation with its field path; results leave as JSON text and become
//! plain JS objects and numbers (never Map or BigInt); errors leave as `WorkflowTemplateError`
//! objects (`error_to_js`).
//!
//! Every import of js/convert.js is declared here, once. What a problem means to a caller (an
//! INVALID_ARGUMENT, a VALIDATION_FAILED, a corrupt adapter row) is the caller's: the facade's
//! are in `crate::wasm::convert`.

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::error::{Error, Violation};
use crate::validate::boundary;

#[wasm_bindgen(module = "/js/convert.js")]
extern "C" {
    #[wasm_bindgen(js_name = toJson)]
    fn js_to_json(value: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = toJsonItem)]
    fn js_to_json_item(values: &JsValue, index: u32) -> Option<String>;
    #[wasm_bindgen(js_name = arrayLength)]
    fn js_array_length(value: &JsValue) -> f64;
    #[wasm_bindgen(js_name = takeProblems)]
    fn js_take_problems() -> String;
    #[wasm_bindgen(js_name = parseJson, catch)]
    fn js_parse_json(text: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = fromJson)]
    fn js_from_json(text: &str) -> JsValue;
    /// A `WorkflowTemplateError` (code, message, `details` as JSON text): see [`error_to_js`].
    #[wasm_bindgen(js_name = makeError)]
    pub(crate) fn make_error(code: &str, message: &str, details: Option<String>) -> JsValue;
}

/// What the JS walk found: the problems it lists and how many more it only counted.
#[derive(Debug, Clone, Default)]
pub struct Problems {
    pub problems: Vec<Violation>,
    pub dropped: usize,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty() && self.dropped == 0
    }

    /// These problems merged with the violations validation found in the clean copy.
    pub fn merge(&self, rules: Vec<Violation>) -> Vec<Violation> {
        boundary::merge(self.problems.clone(), self.dropped, rules)
    }
}

/// A JS value as JSON: the clean copy (null where a value was refused, offending keys left
/// out) and what was refused.
pub struct Converted {
    pub value: Value,
    pub problems: Problems,
}

/// `{ problems: [{ field, code, message }], dropped }` from js/convert.js, read by hand: a
/// derived `Deserialize` brings serde's typed error messages (and float formatting) into the
/// wasm, ~14 KB (BENCHMARKS.md "What each change bought").
fn read_problems(text: &str) -> Option<Problems> {
    let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(text) else { return None };
    let dropped = usize::try_from(m.get("dropped")?.as_u64()?).ok()?;
    let Some(Value::Array(list)) = m.remove("problems") else { return None };
    let mut problems = Vec::with_capacity(list.len());
    for p in list {
        let Value::Object(mut p) = p else { return None };
        let mut text = |k: &str| match p.remove(k) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        problems.push(Violation { field: text("field")?, code: text("code")?, message: text("message")? });
    }
    Some(Problems { problems, dropped })
}

fn finish(text: Option<String>) -> Converted {
    let mut problems: Problems = read_problems(&js_take_problems()).unwrap_or_else(|| Problems {
        problems: vec![Violation::new("", "UNREADABLE", "value could not be converted")],
        dropped: 0,
    });
    let value = match text.map(|t| serde_json::from_str(&t)) {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            problems.problems.push(Violation::new("", "TYPE", format!("value is not valid JSON: {e}")));
            Value::Null
        }
        None => Value::Null,
    };
    Converted { value, problems }
}

/// Converts any JS value; never fails (problems are in the result).
pub fn convert(value: &JsValue) -> Converted {
    finish(js_to_json(value))
}

/// Converts `values[index]` of a JS array, as [`convert`] would convert that item alone.
pub fn convert_item(values: &JsValue, index: u32) -> Converted {
    finish(js_to_json_item(values, index))
}

/// The length of a JS array (Proxies of arrays included), or None for anything else.
pub fn array_length(value: &JsValue) -> Option<u32> {
    let n = js_array_length(value);
    (n >= 0.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// JSON text through `JSON.parse` (which keeps lone surrogates and turns 1e400 into Infinity,
/// where serde_json refuses the text): the value, or JSON.parse's message.
pub fn parse_json_in_js(text: &str) -> Result<JsValue, String> {
    js_parse_json(text).map_err(|e| {
        js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| "not JSON".into())
    })
}

/// A JS value as JSON, or the violations that stop it from being one.
pub fn from_js(value: &JsValue) -> Result<Value, Vec<Violation>> {
    let c = convert(value);
    if c.problems.is_empty() {
        Ok(c.value)
    } else {
        Err(c.problems.merge(Vec::new()))
    }
}

pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    match serde_json::to_string(value) {
        Ok(text) => js_from_json(&text),
        Err(_) => JsValue::NULL,
    }
}

/// JSON text of a value. Not `Value::to_string`: its `Display` goes through an `io::Error` made
/// from a string, whose `Debug` keeps core's Debug escaping in the wasm (issue 12).
/// A `Value` always serialises; were it not to, the error's `details` would be `null`.
pub fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// An error as a `WorkflowTemplateError` (js/convert.js): its code, message and `details`
/// (absent when null). The facade throws these; the runtime rejects the sync engine's hooks with them.
pub fn error_to_js(e: &Error) -> JsValue {
    let details = e.details();
    let details = if details.is_null() { None } else { Some(json_text(&details)) };
    make_error(e.code(), &e.to_string(), details)
}
