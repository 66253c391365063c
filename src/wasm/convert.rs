//! Value conversion at the boundary. JS values go through `js/convert.js` (a guarded walk that
//! refuses cycles, BigInt, Map, NaN, throwing getters, lone surrogates) and arrive as JSON text;
//! results leave as JSON text and become plain JS objects and numbers (never Map or BigInt).

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::error::{Error, Violation};

#[wasm_bindgen(module = "/js/convert.js")]
extern "C" {
    #[wasm_bindgen(js_name = toJson)]
    fn js_to_json(value: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = takeProblems)]
    fn js_take_problems() -> String;
    #[wasm_bindgen(js_name = fromJson)]
    fn js_from_json(text: &str) -> JsValue;
    #[wasm_bindgen(js_name = makeError)]
    fn js_make_error(code: &str, message: &str, details: Option<String>) -> JsValue;
}

/// A JS value as JSON, or the violations that stop it from being one.
pub fn from_js(value: &JsValue) -> Result<Value, Vec<Violation>> {
    match js_to_json(value) {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            vec![Violation::new("", "TYPE", format!("value is not valid JSON: {e}"))]
        }),
        None => Err(serde_json::from_str(&js_take_problems()).unwrap_or_else(|_| {
            vec![Violation::new("", "TYPE", "value could not be converted")]
        })),
    }
}

/// Like `from_js`, but problems become an `INVALID_ARGUMENT` error naming `what`.
pub fn arg(value: &JsValue, what: &str) -> Result<Value, JsValue> {
    from_js(value).map_err(|v| {
        let mut list: Vec<String> =
            v.iter().take(10).map(|x| format!("{}{}: {}", what, if x.field.is_empty() { String::new() } else { format!(".{}", x.field) }, x.message)).collect();
        if v.len() > 10 {
            list.push(format!("and {} more", v.len() - 10));
        }
        error_to_js(&Error::InvalidArgument(list.join("; ")))
    })
}

pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    match serde_json::to_string(value) {
        Ok(text) => js_from_json(&text),
        Err(_) => JsValue::NULL,
    }
}

pub fn error_to_js(e: &Error) -> JsValue {
    let details = e.details();
    let details = if details.is_null() { None } else { Some(details.to_string()) };
    js_make_error(e.code(), &e.to_string(), details)
}

pub fn err(e: Error) -> JsValue {
    error_to_js(&e)
}
