//! The facade's side of value conversion: errors as JS objects (`WorkflowTemplateError`) and the
//! checks of method arguments. The conversion itself (js/convert.js's guarded walk, `from_js`,
//! `to_js`) is `crate::jsval`, below the store, which its JS adapter uses too.
//!
//! Boundary problems are ordinary violations (`crate::validate::boundary`): validation entry
//! points merge them with their own, catalog methods that take records report both as
//! VALIDATION_FAILED, and other arguments (options, usage runs, canonicalJson's value) are
//! INVALID_ARGUMENT with the violations in `details.violations`.

use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::error::{Error, Violation};
use crate::jsval::{convert, error_to_js, from_js, json_text, make_error, Problems};
use crate::validate::boundary;

/// `what` followed by a field path inside it: `run.extra["a.b"]`, `options[0]`.
fn arg_path(what: &str, field: &str) -> String {
    if field.is_empty() || field.starts_with('[') {
        format!("{what}{field}")
    } else {
        format!("{what}.{field}")
    }
}

/// Like `from_js`, but problems become an `INVALID_ARGUMENT` error naming `what`, with the
/// violations (paths relative to the argument) in `details.violations`.
pub fn arg(value: &JsValue, what: &str) -> Result<Value, JsValue> {
    from_js(value).map_err(|v| {
        let mut list: Vec<String> = v.iter().take(10).map(|x| format!("{}: {}", arg_path(what, &x.field), x.message)).collect();
        if v.len() > 10 {
            list.push(format!("and {} more", v.len() - 10));
        }
        let e = Error::InvalidArgument(list.join("; "));
        make_error(e.code(), &e.to_string(), Some(json_text(&obj!({ "argument": what, "violations": v }))))
    })
}

/// A record for a catalog method that writes (or previews): the clean copy and, when the walk
/// found problems, those problems. Then the copy carries `boundary::GUARD_KEY`, which every
/// such method refuses before it writes, and [`checked`] merges its VALIDATION_FAILED answer.
/// A record that was refused as a whole becomes `{}` (never `null`, which would mean "no
/// changes" to newVersion and instantiateSpec).
pub fn record(value: &JsValue) -> (Value, Option<Problems>) {
    let mut c = convert(value);
    if c.problems.is_empty() {
        return (c.value, None);
    }
    if c.value.is_null() {
        c.value = Value::Object(Default::default());
    }
    boundary::guard(&mut c.value);
    (c.value, Some(c.problems))
}

/// The answer of a catalog method given a [`record`]: with boundary problems it is always
/// VALIDATION_FAILED, listing the problems and the rule violations of the rest; an error of
/// another kind (NOT_FOUND, CONFLICT...) is passed on as for any invalid record.
pub fn checked<T>(problems: Option<Problems>, answer: crate::Result<T>) -> crate::Result<T> {
    let Some(p) = problems else { return answer };
    match answer {
        // Only `preview` can get here (it checks the configuration alone and writes nothing):
        // every writing method refuses the guard first (tests/boundary_guard.rs).
        Ok(_) => Err(Error::ValidationFailed(p.merge(Vec::new()))),
        Err(Error::ValidationFailed(rules)) => Err(Error::ValidationFailed(p.merge(rules))),
        // The reference server runs the same core: its VALIDATION_FAILED carries the violations.
        Err(Error::Remote { code: "VALIDATION_FAILED", details, .. }) => {
            let rules: Vec<Violation> = details.get("violations").cloned().and_then(|v| crate::model::read::read(v).ok()).unwrap_or_default();
            Err(Error::ValidationFailed(p.merge(rules)))
        }
        Err(other) => Err(other),
    }
}

/// An error as the `WorkflowTemplateError` the package throws or rejects with.
pub fn err(e: Error) -> JsValue {
    error_to_js(&e)
}
