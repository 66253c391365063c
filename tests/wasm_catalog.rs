//! The JS-facing catalog API (`workflow_templates::wasm`) driven from Rust inside headless
//! Chromium: every method returns a `js_sys::Promise`, awaited with `JsFuture`; inputs are built
//! with `js_sys` (JSON.parse, Reflect::set) exactly as a JS app would hand them over.
//!
//!   CHROMEDRIVER=/usr/bin/chromedriver wasm-pack test --headless --chrome -- --test wasm_catalog
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, BigInt, Function, Object, Promise, Reflect, JSON};
use sha2::{Digest, Sha256};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use workflow_templates::wasm::{self as wt, TemplateCatalog};

wasm_bindgen_test_configure!(run_in_browser);

const GENERAL_ASSISTANT: &str = "00000000000000000000000001";
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// ---- helpers ---------------------------------------------------------------------------------

fn json(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or_else(|e| panic!("bad JSON in test: {text}: {e:?}"))
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    assert!(Reflect::set(target, &JsValue::from_str(key), value).unwrap());
}

fn string(v: &JsValue, key: &str) -> String {
    get(v, key).as_string().unwrap_or_else(|| panic!("{key} is not a string in {}", show(v)))
}

fn number(v: &JsValue, key: &str) -> f64 {
    let x = get(v, key);
    assert!(!x.is_bigint(), "{key} is a BigInt");
    x.as_f64().unwrap_or_else(|| panic!("{key} is not a number in {}", show(v)))
}

fn array(v: &JsValue) -> Vec<JsValue> {
    assert!(Array::is_array(v), "not an array: {}", show(v));
    Array::from(v).iter().collect()
}

fn show(v: &JsValue) -> String {
    if v.is_instance_of::<js_sys::Error>() {
        return format!("{} ({:?})", get(v, "message").as_string().unwrap_or_default(), get(v, "code").as_string());
    }
    JSON::stringify(v).ok().and_then(|s| s.as_string()).unwrap_or_else(|| format!("{v:?}"))
}

fn is_ulid(s: &str) -> bool {
    s.len() == 26 && s.chars().all(|c| CROCKFORD.contains(c))
}

/// `2026-11-25T18:40:17.123Z`
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

async fn ok(p: Promise) -> JsValue {
    match JsFuture::from(p).await {
        Ok(v) => v,
        Err(e) => panic!("rejected: {}", show(&e)),
    }
}

/// Awaits a rejection and checks it is a real `Error` with the expected `code`.
async fn rejects(p: Promise, code: &str) -> JsValue {
    let e = match JsFuture::from(p).await {
        Ok(v) => panic!("resolved with {} but should reject with {code}", show(&v)),
        Err(e) => e,
    };
    assert!(e.is_instance_of::<js_sys::Error>(), "rejection is not an Error: {}", show(&e));
    let got = get(&e, "code").as_string().unwrap_or_else(|| panic!("no code on {}", show(&e)));
    let codes: Vec<String> = array(&wt::error_codes()).iter().filter_map(JsValue::as_string).collect();
    assert!(codes.contains(&got), "{got} is not one of errorCodes()");
    assert_eq!(got, code, "wrong code: {}", show(&e));
    assert!(!string(&e, "message").is_empty());
    assert!(get(&e, "stack").as_string().is_some_and(|s| !s.is_empty()), "no stack");
    e
}

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let o: JsValue = Object::new().into();
    for (k, v) in pairs {
        set(&o, k, v);
    }
    o
}

async fn open_as(user: &str) -> TemplateCatalog {
    let v = ok(TemplateCatalog::open(options(&[("userId", user.into()), ("storage", "memory".into())]))).await;
    TemplateCatalog::try_from_js_value(v).expect("open resolves to a TemplateCatalog")
}

async fn open() -> TemplateCatalog {
    open_as(&wt::new_id()).await
}

fn draft(name: &str, rest: &str) -> JsValue {
    let d = json(&format!("{{ \"workflow_type\": \"plain\" {} {rest} }}", if rest.is_empty() { "" } else { "," }));
    set(&d, "name", &name.into());
    d
}

fn id_of(t: &JsValue) -> JsValue {
    get(t, "id")
}

/// SPEC section 4 without the library: serde_json sorts keys (BTreeMap) and, for ASCII
/// strings and integers, its compact output is the RFC 8785 form; then SHA-256.
fn independent_hash(config: serde_json::Value) -> String {
    let text = serde_json::to_string(&config).unwrap();
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

// ---- tests -----------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn open_create_get_round_trip() {
    let user = wt::new_id();
    let cat = open_as(&user.to_lowercase()).await;
    assert_eq!(cat.user_id(), user, "userId is normalised to uppercase");
    let d = draft("  Round Trip  ", r#""default_params": {"b": {"c": "x"}, "a": 1}, "tags": ["t"]"#);
    let t = ok(cat.create(d)).await;
    let id = string(&t, "id");
    assert!(is_ulid(&id), "{id}");
    assert_eq!(string(&t, "owner_id"), user);
    assert_eq!(string(&t, "name"), "Round Trip");
    assert_eq!(string(&t, "category"), "custom");
    assert_eq!(number(&t, "version"), 1.0);
    assert_eq!(get(&t, "is_latest"), JsValue::TRUE);
    assert_eq!(number(&t, "usage_count"), 0.0);
    assert!(is_timestamp(&string(&t, "created_at")), "{}", string(&t, "created_at"));
    assert_eq!(string(&t, "created_at"), string(&t, "updated_at"));
    assert!(get(&t, "required_tools").is_null());
    let params = get(&t, "default_params");
    assert_eq!(Object::get_prototype_of(&params), Object::get_prototype_of(&Object::new().into()), "a plain object, not a Map");
    let want = independent_hash(serde_json::json!({
        "workflow_type": "plain", "default_params": { "a": 1, "b": { "c": "x" } },
        "required_tools": [], "required_retrievers": [], "base_template_id": null
    }));
    assert_eq!(string(&t, "config_hash"), want);
    assert_eq!(wt::config_hash(t.clone()).unwrap(), want);
    let again = ok(cat.get(id.to_lowercase().into())).await;
    assert_eq!(show(&again), show(&t));
}

#[wasm_bindgen_test]
async fn validation_failed_is_a_real_error_with_code_and_violations() {
    let cat = open().await;
    let e = rejects(cat.create(json(r#"{ "tags": ["a", "A"], "usage_count": 1 }"#)), "VALIDATION_FAILED").await;
    assert_eq!(Reflect::get(&e, &"code".into()).unwrap(), JsValue::from_str("VALIDATION_FAILED"));
    let violations = array(&get(&get(&e, "details"), "violations"));
    let pairs: Vec<String> = violations.iter().map(|v| format!("{}:{}", string(v, "field"), string(v, "code"))).collect();
    for want in ["name:REQUIRED", "workflow_type:REQUIRED", "usage_count:READ_ONLY"] {
        assert!(pairs.iter().any(|p| p == want), "{want} missing from {pairs:?}");
    }
    for v in &violations {
        assert!(!string(v, "message").is_empty());
    }
    let mismatch = rejects(cat.create(draft("Tools without tools", r#""workflow_type": "tools""#)), "VALIDATION_FAILED").await;
    let v = array(&get(&get(&mismatch, "details"), "violations"));
    assert_eq!(string(&v[0], "code"), "WORKFLOW_TYPE_MISMATCH");
    let page = ok(cat.discover(json(r#"{ "includeBuiltin": false }"#))).await;
    assert_eq!(number(&page, "total"), 0.0, "nothing was written");
}

#[wasm_bindgen_test]
async fn update_with_a_stale_if_match_is_conflict() {
    let cat = open().await;
    let t = ok(cat.create(draft("Guarded", ""))).await;
    let stale = get(&t, "updated_at");
    let u = ok(cat.update(id_of(&t), json(r#"{ "description": "first" }"#), options(&[("ifMatch", stale.clone())]))).await;
    assert!(string(&u, "updated_at") > string(&t, "updated_at"), "updated_at strictly increases");
    let e = rejects(cat.update(id_of(&t), json(r#"{ "description": "second" }"#), options(&[("ifMatch", stale)])), "CONFLICT").await;
    let details = get(&e, "details");
    assert_eq!(string(&details, "expected"), string(&t, "updated_at"));
    assert_eq!(string(&details, "actual"), string(&u, "updated_at"));
    let now = ok(cat.get(id_of(&t))).await;
    assert_eq!(string(&now, "description"), "first", "the refused write changed nothing");
    rejects(cat.new_version(id_of(&t), JsValue::UNDEFINED, JsValue::NULL, options(&[("ifMatch", get(&t, "updated_at"))])), "CONFLICT").await;
    rejects(cat.update(GENERAL_ASSISTANT.into(), json("{}"), JsValue::UNDEFINED), "BUILTIN_READ_ONLY").await;
}

#[wasm_bindgen_test]
async fn new_version_moves_latest_and_versions_lists_newest_first() {
    let cat = open().await;
    let v1 = ok(cat.create(draft("Versioned", r#""default_params": {"model": {"name": "m1"}}"#))).await;
    let v2 = ok(cat.new_version(id_of(&v1), json(r#"{ "default_params": {"model": {"name": "m2"}} }"#), "second".into(), JsValue::UNDEFINED)).await;
    assert_eq!(number(&v2, "version"), 2.0);
    assert_eq!(string(&v2, "changelog"), "second");
    assert_eq!(string(&v2, "name"), "Versioned");
    assert_ne!(string(&v2, "id"), string(&v1, "id"));
    assert_ne!(string(&v2, "config_hash"), string(&v1, "config_hash"));
    let old = ok(cat.get(id_of(&v1))).await;
    assert_eq!(get(&old, "is_latest"), JsValue::FALSE);
    let list = array(&ok(cat.versions(id_of(&v1), JsValue::UNDEFINED)).await);
    let got: Vec<(f64, bool)> = list.iter().map(|v| (number(v, "version"), get(v, "is_latest").is_truthy())).collect();
    assert_eq!(got, vec![(2.0, true), (1.0, false)]);
    let diff = array(&ok(cat.diff(id_of(&v1), id_of(&v2))).await);
    let change = diff.iter().find(|c| string(c, "path") == "/default_params/model/name").expect("a change inside default_params");
    assert_eq!(get(change, "before"), JsValue::from_str("m1"));
    assert_eq!(get(change, "after"), JsValue::from_str("m2"));
    rejects(cat.new_version(id_of(&v1), JsValue::UNDEFINED, JsValue::NULL, JsValue::UNDEFINED), "INVALID_ARGUMENT").await;
}

#[wasm_bindgen_test]
async fn resolve_gives_effective_config_provenance_and_resolved_hash() {
    let cat = open().await;
    let root = ok(cat.create(draft("Root", r#""default_params": {"model": {"name": "base", "temperature": 1}, "keep": 1}"#))).await;
    let rest = format!(r#""base_template_id": "{}", "workflow_type": "tools", "required_tools": ["calc"], "default_params": {{"model": {{"temperature": 0}}, "keep": null}}"#, string(&root, "id"));
    let leaf = ok(cat.create(draft("Leaf", &rest))).await;
    let r = ok(cat.resolve(id_of(&leaf))).await;
    let effective = get(&r, "effective");
    assert_eq!(show(&get(&effective, "default_params")), r#"{"model":{"name":"base","temperature":0}}"#);
    assert_eq!(show(&get(&effective, "required_tools")), r#"["calc"]"#);
    assert_eq!(string(&effective, "workflow_type"), "tools");
    let provenance = get(&r, "provenance");
    assert_eq!(string(&provenance, "/model/name"), string(&root, "id"));
    assert_eq!(string(&provenance, "/model/temperature"), string(&leaf, "id"));
    assert!(get(&provenance, "/keep").is_undefined(), "a removed key has no provenance");
    let chain = array(&get(&r, "chain"));
    assert_eq!(chain.len(), 2);
    assert_eq!(number(&chain[1], "level"), 1.0);
    let want = independent_hash(serde_json::json!({
        "workflow_type": "tools", "default_params": { "model": { "name": "base", "temperature": 0 } },
        "required_tools": ["calc"], "required_retrievers": [], "base_template_id": null
    }));
    assert_eq!(string(&r, "resolved_hash"), want);
    let rr = ok(cat.resolve(id_of(&root))).await;
    assert_eq!(string(&rr, "resolved_hash"), string(&root, "config_hash"), "a root's resolved hash is its config_hash");
}

#[wasm_bindgen_test]
async fn record_usage_on_a_builtin_is_kept_beside_it() {
    let cat = open().await;
    let run = json(r#"{ "success": true, "responseTimeMs": 120, "tokens": 30, "cost": 0.25 }"#);
    ok(cat.record_usage(GENERAL_ASSISTANT.into(), run.clone())).await;
    let u = ok(cat.record_usage(GENERAL_ASSISTANT.into(), json(r#"{ "success": false, "responseTimeMs": 80 }"#))).await;
    assert_eq!(number(&u, "usage_count"), 2.0);
    assert_eq!(number(&u, "success_rate"), 0.5);
    assert_eq!(number(&u, "avg_response_time_ms"), 100.0);
    assert_eq!(number(&u, "total_tokens_used"), 30.0);
    assert!(is_timestamp(&string(&u, "last_used_at")));
    let b = ok(cat.get(GENERAL_ASSISTANT.into())).await;
    assert_eq!(number(&b, "usage_count"), 2.0);
    let pristine = array(&wt::builtin_templates()).into_iter().find(|t| string(t, "id") == GENERAL_ASSISTANT).unwrap();
    assert_eq!(number(&pristine, "usage_count"), 0.0, "builtinTemplates() has no statistics");
    let rated = ok(cat.rate(GENERAL_ASSISTANT.into(), 4.0.into())).await;
    assert_eq!((number(&rated, "rating"), number(&rated, "rating_count")), (4.0, 1.0));
    rejects(cat.record_usage(GENERAL_ASSISTANT.into(), json(r#"{ "success": 1 }"#)), "VALIDATION_FAILED").await;
}

#[wasm_bindgen_test]
async fn discover_pages_tile_the_result() {
    let cat = open().await;
    for i in 0..7 {
        ok(cat.create(draft(&format!("Page item {i}"), r#""tags": ["paged"]"#))).await;
    }
    let all = ok(cat.discover(json(r#"{ "limit": 100, "sort": "name" }"#))).await;
    let total = number(&all, "total");
    assert_eq!(total as usize, array(&wt::builtin_templates()).len() + 7);
    let want: Vec<String> = array(&get(&all, "items")).iter().map(|t| string(t, "id")).collect();
    let mut seen = Vec::new();
    let mut offset = 0;
    while (offset as f64) < total {
        let page = ok(cat.discover(json(&format!(r#"{{ "limit": 3, "offset": {offset}, "sort": "name" }}"#)))).await;
        assert_eq!(number(&page, "total"), total);
        assert_eq!(number(&page, "offset"), offset as f64);
        seen.extend(array(&get(&page, "items")).iter().map(|t| string(t, "id")));
        offset += 3;
    }
    assert_eq!(seen, want);
    let tagged = ok(cat.discover(json(r#"{ "tags": ["PAGED"], "includeBuiltin": false }"#))).await;
    assert_eq!(number(&tagged, "total"), 7.0);
    for bad in [r#"{ "limit": 0 }"#, r#"{ "limit": 101 }"#, r#"{ "sort": "random" }"#, r#"{ "nope": 1 }"#, "42"] {
        rejects(cat.discover(json(bad)), "INVALID_ARGUMENT").await;
    }
}

#[wasm_bindgen_test]
async fn a_cyclic_draft_is_refused_and_nothing_changes() {
    let cat = open().await;
    let kept = ok(cat.create(draft("Kept", ""))).await;
    let d = draft("Cyclic", "");
    let params: JsValue = Object::new().into();
    set(&params, "self", &d); // params.self -> the draft -> params: a cycle
    set(&d, "default_params", &params);
    // A draft's boundary problems are violations like any other (README "Values from JS").
    let e = rejects(cat.create(d.clone()), "VALIDATION_FAILED").await;
    assert!(string(&e, "message").contains("cycle"), "{}", show(&e));
    rejects(cat.update(id_of(&kept), d, JsValue::UNDEFINED), "VALIDATION_FAILED").await;
    assert_eq!(show(&ok(cat.get(id_of(&kept))).await), show(&kept));
    ok(cat.create(draft("Still works", ""))).await;
}

#[wasm_bindgen_test]
async fn nan_and_infinity_are_refused() {
    let cat = open().await;
    let kept = ok(cat.create(draft("Kept", ""))).await;
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let d = draft("Not finite", "");
        let params: JsValue = Object::new().into();
        set(&params, "temperature", &JsValue::from_f64(x));
        set(&d, "default_params", &params);
        rejects(cat.create(d), "VALIDATION_FAILED").await;
        rejects(cat.rate(id_of(&kept), JsValue::from_f64(x)), "VALIDATION_FAILED").await;
    }
    rejects(cat.popular_by_category(JsValue::from_f64(f64::NAN)), "INVALID_ARGUMENT").await;
    assert_eq!(show(&ok(cat.get(id_of(&kept))).await), show(&kept));
}

#[wasm_bindgen_test]
async fn bigint_values_are_refused() {
    let cat = open().await;
    let kept = ok(cat.create(draft("Kept", ""))).await;
    let d = draft("Big", "");
    let params: JsValue = Object::new().into();
    set(&params, "tokens", &BigInt::from(10u64).into());
    set(&d, "default_params", &params);
    let e = rejects(cat.create(d), "VALIDATION_FAILED").await;
    assert!(string(&e, "message").contains("BigInt"), "{}", show(&e));
    rejects(cat.rate(id_of(&kept), BigInt::from(3u64).into()), "INVALID_ARGUMENT").await;
    rejects(cat.get(BigInt::from(1u64).into()), "INVALID_ARGUMENT").await;
    let run = json(r#"{ "success": true }"#);
    set(&run, "responseTimeMs", &BigInt::from(5u64).into());
    rejects(cat.record_usage(id_of(&kept), run), "INVALID_ARGUMENT").await;
    assert_eq!(show(&ok(cat.get(id_of(&kept))).await), show(&kept));
}

#[wasm_bindgen_test]
async fn ids_of_wrong_types_and_unknown_ids() {
    let cat = open().await;
    let object: JsValue = Object::new().into();
    for bad in [JsValue::from_f64(42.0), object, JsValue::UNDEFINED, JsValue::NULL, "nope".into(), JsValue::TRUE] {
        rejects(cat.get(bad.clone()), "INVALID_ARGUMENT").await;
        rejects(cat.delete(bad.clone()), "INVALID_ARGUMENT").await;
        rejects(cat.resolve(bad.clone()), "INVALID_ARGUMENT").await;
        rejects(cat.get_spec(bad), "INVALID_ARGUMENT").await;
    }
    let unknown = wt::new_id();
    let e = rejects(cat.get(unknown.clone().into()), "NOT_FOUND").await;
    assert_eq!(string(&get(&e, "details"), "id"), unknown);
}

#[wasm_bindgen_test]
async fn delete_is_refused_while_derived_exist_and_promotes_the_previous_version() {
    let cat = open().await;
    let base = ok(cat.create(draft("Base", ""))).await;
    let child = ok(cat.create(draft("Child", &format!(r#""base_template_id": "{}""#, string(&base, "id"))))).await;
    let e = rejects(cat.delete(id_of(&base)), "HAS_DERIVED").await;
    let derived: Vec<String> = array(&get(&get(&e, "details"), "derived")).iter().filter_map(JsValue::as_string).collect();
    assert_eq!(derived, vec![string(&child, "id")]);
    let kids = array(&ok(cat.derived(id_of(&base))).await);
    assert_eq!(kids.len(), 1);
    let v2 = ok(cat.new_version(id_of(&child), json(r#"{ "description": "v2" }"#), "v2".into(), JsValue::UNDEFINED)).await;
    ok(cat.delete(id_of(&v2))).await;
    let back = ok(cat.get(id_of(&child))).await;
    assert_eq!(get(&back, "is_latest"), JsValue::TRUE, "the previous version is latest again");
    ok(cat.delete(id_of(&child))).await;
    ok(cat.delete(id_of(&base))).await;
    rejects(cat.get(id_of(&base)), "NOT_FOUND").await;
}

#[wasm_bindgen_test]
async fn specs_instantiate_and_count_their_use() {
    let cat = open().await;
    let spec = ok(cat.create_spec(json(r#"{ "name": "Recipe", "workflow_type": "plain", "base_template_name": "general assistant" }"#))).await;
    assert!(is_ulid(&string(&spec, "id")));
    let t = ok(cat.instantiate_spec(id_of(&spec), json(r#"{ "name": "From recipe" }"#))).await;
    assert_eq!(string(&t, "base_template_id"), GENERAL_ASSISTANT);
    let used = ok(cat.get_spec(id_of(&spec))).await;
    assert_eq!(number(&used, "usage_count"), 1.0);
    let updated = ok(cat.update_spec(id_of(&spec), json(r#"{ "description": "d" }"#), JsValue::UNDEFINED)).await;
    assert_eq!(string(&updated, "description"), "d");
    assert_eq!(array(&ok(cat.list_specs()).await).len(), 1);
    ok(cat.delete_spec(id_of(&spec))).await;
    rejects(cat.get_spec(id_of(&spec)), "NOT_FOUND").await;
}

#[wasm_bindgen_test]
async fn export_then_import_into_a_second_catalog_of_the_same_user() {
    let user = wt::new_id();
    let a = open_as(&user).await;
    let t = ok(a.create(draft("Exported", r#""default_params": {"x": [1, 2]}"#))).await;
    ok(a.record_usage(GENERAL_ASSISTANT.into(), json(r#"{ "success": true, "responseTimeMs": 1 }"#))).await;
    ok(a.create_spec(json(r#"{ "name": "Spec", "workflow_type": "plain" }"#))).await;
    let bundle = ok(a.export_all()).await;
    assert_eq!(number(&bundle, "format_version"), 1.0);
    let b = open_as(&user).await;
    let report = ok(b.import_all(bundle.clone())).await;
    assert_eq!((number(&report, "templates"), number(&report, "specs")), (1.0, 1.0));
    assert_eq!(show(&ok(b.get(id_of(&t))).await), show(&t));
    assert_eq!(number(&ok(b.get(GENERAL_ASSISTANT.into())).await, "usage_count"), 1.0);
    let stranger = open().await;
    rejects(stranger.import_all(bundle), "VALIDATION_FAILED").await;
    assert_eq!(number(&ok(stranger.discover(json(r#"{ "includeBuiltin": false }"#))).await, "total"), 0.0);
}

#[wasm_bindgen_test]
async fn subscribe_delivers_events_until_unsubscribed() {
    let cat = open().await;
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let sink = seen.clone();
    let callback = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        sink.borrow_mut().push(format!("{}:{}", string(&ev, "kind"), string(&ev, "op")));
    });
    let thrower = Function::new_with_args("ev", "throw new Error('subscriber bug')");
    cat.subscribe(thrower.into()).unwrap();
    let unsubscribe: Function = cat.subscribe(callback.as_ref().clone()).unwrap().dyn_into().unwrap();
    let t = ok(cat.create(draft("Watched", ""))).await;
    ok(cat.update(id_of(&t), json(r#"{ "description": "x" }"#), JsValue::UNDEFINED)).await;
    assert_eq!(*seen.borrow(), vec!["template:create", "template:update"]);
    unsubscribe.call0(&JsValue::NULL).unwrap();
    ok(cat.delete(id_of(&t))).await;
    assert_eq!(seen.borrow().len(), 2, "no event after unsubscribe");
    assert!(cat.subscribe(JsValue::from_f64(1.0)).is_err());
    drop(callback);
}

#[wasm_bindgen_test]
async fn close_makes_every_later_call_reject_with_storage_unavailable() {
    let cat = open().await;
    let t = ok(cat.create(draft("Before close", ""))).await;
    cat.close();
    rejects(cat.get(id_of(&t)), "STORAGE_UNAVAILABLE").await;
    rejects(cat.create(draft("After close", "")), "STORAGE_UNAVAILABLE").await;
    rejects(cat.discover(JsValue::UNDEFINED), "STORAGE_UNAVAILABLE").await;
    rejects(cat.export_all(), "STORAGE_UNAVAILABLE").await;
    rejects(cat.list_specs(), "STORAGE_UNAVAILABLE").await;
}

#[wasm_bindgen_test]
async fn storage_options_open_the_named_adapter() {
    let user = wt::new_id();
    let db = format!("wt-wasm-catalog-{}", js_sys::Date::now() as u64);
    let open = |storage: Option<&str>| {
        let mut o: Vec<(&str, JsValue)> = vec![("userId", user.clone().into()), ("dbName", db.clone().into())];
        if let Some(s) = storage {
            o.push(("storage", s.into()));
        }
        TemplateCatalog::open(options(&o))
    };
    for (storage, kind) in [(None, "indexeddb"), (Some("indexeddb"), "indexeddb"), (Some("local"), "local"), (Some("memory"), "memory")] {
        let c = TemplateCatalog::try_from_js_value(ok(open(storage)).await).expect("a TemplateCatalog");
        assert_eq!(c.storage(), kind, "storage {storage:?}");
        c.close();
    }
    rejects(open(Some("remote")), "INVALID_ARGUMENT").await; // no baseUrl
    rejects(TemplateCatalog::open(options(&[("userId", user.clone().into()), ("storage", Object::new().into())])), "INVALID_ARGUMENT").await;
    rejects(TemplateCatalog::open(options(&[("userId", user.clone().into()), ("dbName", "".into())])), "INVALID_ARGUMENT").await;
    rejects(TemplateCatalog::open(options(&[("userId", "not a ulid".into())])), "INVALID_ARGUMENT").await;
    rejects(TemplateCatalog::open(JsValue::from_f64(1.0)), "INVALID_ARGUMENT").await;
    // Dropping the database (closed above) and one that does not exist both resolve.
    ok(TemplateCatalog::destroy(db.clone().into())).await;
    ok(TemplateCatalog::destroy("workflow-templates-wasm-catalog-test".into())).await;
}

/// Resolves to `"timeout"` after `ms` unless `p` settles first (then to its outcome).
async fn settle_within(p: Promise, ms: i32) -> Result<JsValue, JsValue> {
    let timeout = Promise::new(&mut |resolve, _reject| {
        let set_timeout: Function = get(&js_sys::global(), "setTimeout").dyn_into().unwrap();
        set_timeout.call3(&JsValue::NULL, &resolve, &JsValue::from(ms), &"timeout".into()).unwrap();
    });
    JsFuture::from(Promise::race(&Array::of2(&p, &timeout))).await
}

#[wasm_bindgen_test]
async fn open_with_a_proxy_whose_own_keys_trap_throws_rejects() {
    // store.rs lists the option keys with js_sys::Object::keys (not a `catch` import).
    let handler: JsValue = Object::new().into();
    set(&handler, "ownKeys", &Function::new_no_args("throw new Error('ownKeys says no')").into());
    let proxy = js_sys::Proxy::new(&Object::new(), handler.unchecked_ref());
    match settle_within(TemplateCatalog::open(proxy.into()), 1000).await {
        Ok(v) if v.as_string().as_deref() == Some("timeout") => panic!("open(Proxy) never settled"),
        Ok(v) => panic!("open(Proxy) resolved: {}", show(&v)),
        Err(e) => assert_eq!(get(&e, "code").as_string().as_deref(), Some("INVALID_ARGUMENT"), "{}", show(&e)),
    }
    let cat = open().await;
    ok(cat.create(draft("After the trap", ""))).await;
}
