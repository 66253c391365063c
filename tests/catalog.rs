//! Native integration tests of the catalog (SPEC sections 5-11) over the in-memory store.
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde_json::{json, Value};
use support::*;
use workflow_templates::builtin;
use workflow_templates::catalog::{Catalog, ChangeEvent, DiscoverOptions, Page, Sort, UsageRun, WriteOptions};
use workflow_templates::hash::{config_hash, ConfigParts};
use workflow_templates::model::id::BUILTIN_OWNER;
use workflow_templates::model::time::format_ms;
use workflow_templates::model::MAX_SAFE_INTEGER;
use workflow_templates::store::{BuiltinStats, Expect, Rating, Store, Write};
use workflow_templates::{Error, Result, TemplateCategory, TemplateSpec, WorkflowTemplate, WorkflowType};

/// A well-formed id that no record has.
const MISSING: &str = "01ARZ3NDEKTSV4RRFFQ69G5FB0";

const CODE_ASSISTANT: &str = "00000000000000000000000003";
const RESEARCH_ANALYST: &str = "00000000000000000000000004";
const CREATIVE_WRITER: &str = "00000000000000000000000006";
const DOCUMENT_QA: &str = "0000000000000000000000000A";

fn has_violation(e: &Error, field: &str, code: &str) -> bool {
    violations(e).iter().any(|(f, c)| f == field && c == code)
}

fn has_code(e: &Error, code: &str) -> bool {
    violations(e).iter().any(|(_, c)| c == code)
}

fn get(c: &Cat, id: &str) -> WorkflowTemplate {
    ok(block_on(c.get(id)))
}

fn if_match(t: &str) -> WriteOptions {
    WriteOptions { if_match: Some(t.to_string()) }
}

fn no_opts() -> WriteOptions {
    WriteOptions::default()
}

fn run(success: bool, response_time_ms: u64, tokens: u64, cost: f64) -> UsageRun {
    UsageRun { success, response_time_ms, tokens, cost }
}

fn use_once(c: &Cat, id: &str) -> WorkflowTemplate {
    ok(block_on(c.record_usage(id, &run(true, 100, 10, 0.0))))
}

fn opts(v: Value) -> DiscoverOptions {
    ok(DiscoverOptions::from_value(&v))
}

fn discover(c: &Cat, v: Value) -> Page<WorkflowTemplate> {
    ok(block_on(c.discover(&opts(v))))
}

fn ids(ts: &[WorkflowTemplate]) -> Vec<String> {
    ts.iter().map(|t| t.id.clone()).collect()
}

fn idv(ts: &[&WorkflowTemplate]) -> Vec<String> {
    ts.iter().map(|t| t.id.clone()).collect()
}

// ---- harness sanity ------------------------------------------------------------------------

#[test]
fn harness_users_are_canonical_ulids_and_catalog_normalises_user_id() {
    let fx = Fx::frozen();
    for u in [U1, U2, U3, MISSING] {
        assert_eq!(fx.cat(&u.to_lowercase()).user_id(), u);
    }
    let bad = Catalog::new(fx.store(), fx.env(), "not-a-ulid").map(|_| ());
    assert_eq!(err(bad).code(), "INVALID_ARGUMENT");
}

// ---- create --------------------------------------------------------------------------------

#[test]
fn create_fills_defaults_and_trims_the_name() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = ok(block_on(c.create(json!({ "name": "  My Template \t", "workflow_type": "plain" }))));
    assert_eq!(t.name, "My Template");
    assert_eq!(t.category, TemplateCategory::Custom);
    assert_eq!(t.workflow_type, WorkflowType::Plain);
    assert_eq!(t.description, "");
    assert_eq!(t.version, 1);
    assert!(t.is_latest);
    assert!(!t.is_public);
    assert!(!t.is_builtin);
    assert_eq!(t.owner_id, U1);
    assert_eq!(t.created_at, t.updated_at);
    assert_eq!(t.created_at, format_ms(T0));
    assert_eq!(t.config_hash, config_hash(&t.config()));
    assert!(t.default_params.is_empty());
    assert_eq!((t.required_tools.clone(), t.required_retrievers.clone(), t.base_template_id.clone()), (None, None, None));
    assert_eq!((t.usage_count, t.rating_count, t.rating, t.last_used_at.clone()), (0, 0, None, None));
    assert_eq!((t.total_tokens_used, t.total_cost, t.success_rate), (0, 0.0, None));
    assert_eq!(t.changelog, None);
    assert_eq!(t.id.len(), 26);
    assert_eq!(t.id, t.id.to_uppercase());
    // What create returns is exactly what is stored, and lowercase ids are accepted by get.
    assert_eq!(fx.stored(&t.id).unwrap().record, t);
    assert_eq!(get(&c, &t.id), t);
    assert_eq!(get(&c, &t.id.to_lowercase()), t);
}

#[test]
fn create_keeps_given_writable_fields() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(
        &c,
        "Full one",
        json!({
            "workflow_type": "full", "category": "research", "description": "d",
            "required_tools": ["web_search"], "required_retrievers": ["papers"], "is_public": true,
            "tags": [" a ", "B"], "extra_metadata": { "k": 1 }, "estimated_complexity": 3,
            "default_params": { "model": { "name": "m" } }
        }),
    );
    assert_eq!(t.workflow_type, WorkflowType::Full);
    assert_eq!(t.category, TemplateCategory::Research);
    assert_eq!(t.description, "d");
    assert_eq!(t.required_tools, Some(vec!["web_search".to_string()]));
    assert_eq!(t.required_retrievers, Some(vec!["papers".to_string()]));
    assert!(t.is_public);
    assert_eq!(t.tags, Some(vec!["a".to_string(), "B".to_string()]));
    assert_eq!(t.estimated_complexity, Some(3));
    assert_eq!(t.default_params.get("model"), Some(&json!({ "name": "m" })));
    assert_eq!(t.config_hash, config_hash(&t.config()));
}

#[test]
fn create_normalises_a_lowercase_base_id() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let root = create(&c, "Root", json!({}));
    let d = create(&c, "Derived", json!({ "base_template_id": root.id.to_lowercase() }));
    assert_eq!(d.base_template_id.as_deref(), Some(root.id.as_str()));
    assert_eq!(d.config_hash, config_hash(&d.config()));
    let b = create(&c, "From builtin", json!({ "base_template_id": DOCUMENT_QA.to_lowercase(), "workflow_type": "rag" }));
    assert_eq!(b.base_template_id.as_deref(), Some(DOCUMENT_QA));
}

#[test]
fn create_refuses_read_only_and_unknown_fields() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let e = err(block_on(c.create(draft(
        "x",
        json!({
            "id": MISSING, "owner_id": U2, "usage_count": 5, "config_hash": "0".repeat(64),
            "is_builtin": false, "version": 2, "is_latest": true, "created_at": "2027-01-01T00:00:00.000Z",
            "colour": "red"
        }),
    ))));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    for f in ["id", "owner_id", "usage_count", "config_hash", "is_builtin", "version", "is_latest", "created_at"] {
        assert!(has_violation(&e, f, "READ_ONLY"), "{f}: {:?}", violations(&e));
    }
    assert!(has_violation(&e, "colour", "UNKNOWN_FIELD"), "{:?}", violations(&e));
    assert!(fx.snapshot().templates.is_empty());
}

#[test]
fn create_reports_every_violation_at_once() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let e = err(block_on(c.create(json!({
        "name": "", "workflow_type": "nope", "category": "misc", "usage_count": 1, "extra": 1,
        "tags": ["a", "A"]
    }))));
    let v = violations(&e);
    let fields: BTreeSet<&str> = v.iter().map(|(f, _)| f.as_str()).collect();
    for f in ["name", "workflow_type", "category", "usage_count", "extra"] {
        assert!(fields.contains(f), "{f} missing from {v:?}");
    }
    assert!(has_violation(&e, "usage_count", "READ_ONLY"));
    assert!(has_violation(&e, "extra", "UNKNOWN_FIELD"));
    assert!(has_code(&e, "DUPLICATE"), "{v:?}");

    // Missing required fields are reported together with the other violations.
    let e = err(block_on(c.create(json!({ "description": 5, "is_public": "yes" }))));
    assert!(has_violation(&e, "name", "REQUIRED"), "{:?}", violations(&e));
    assert!(has_violation(&e, "workflow_type", "REQUIRED"), "{:?}", violations(&e));
    assert!(has_violation(&e, "description", "TYPE"), "{:?}", violations(&e));
    assert!(has_violation(&e, "is_public", "TYPE"), "{:?}", violations(&e));

    for bad in [json!(null), json!([]), json!("x"), json!(3)] {
        assert_eq!(err(block_on(c.create(bad))).code(), "VALIDATION_FAILED");
    }
    assert!(fx.snapshot().templates.is_empty());
}

#[test]
fn create_name_taken_is_case_insensitive_and_per_owner() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    let a = create(&c1, "Alpha", json!({}));
    for n in ["Alpha", "alpha", "  ALPHA  "] {
        let e = err(block_on(c1.create(draft(n, json!({})))));
        assert_eq!(e.code(), "NAME_TAKEN", "{n}");
    }
    assert_eq!(fx.latest_count(U1, "alpha"), 1);
    // Another user may use the same name.
    let b = create(&c2, "alpha", json!({ "is_public": true }));
    assert_ne!(a.id, b.id);
    assert_eq!(fx.snapshot().templates.len(), 2);
}

#[test]
fn create_checks_workflow_type_consistency_on_the_effective_configuration() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let e = err(block_on(c.create(draft("p", json!({ "required_tools": ["search"] })))));
    assert!(has_violation(&e, "workflow_type", "WORKFLOW_TYPE_MISMATCH"), "{:?}", violations(&e));
    let e = err(block_on(c.create(draft("t", json!({ "workflow_type": "tools" })))));
    assert!(has_violation(&e, "workflow_type", "WORKFLOW_TYPE_MISMATCH"));
    let e = err(block_on(c.create(draft("r", json!({ "workflow_type": "rag", "required_tools": ["a"], "required_retrievers": ["b"] })))));
    assert!(has_violation(&e, "workflow_type", "WORKFLOW_TYPE_MISMATCH"));

    // A derived `tools` template with no tools of its own inherits them from its base.
    let d = create(&c, "My coder", json!({ "workflow_type": "tools", "base_template_id": CODE_ASSISTANT }));
    assert_eq!(d.required_tools, None);
    let r = ok(block_on(c.resolve(&d.id)));
    assert_eq!(r.effective.required_tools, vec!["code_interpreter".to_string(), "repo_search".to_string()]);
    // The same over a custom base, two levels down.
    let base = create(&c, "Tool base", json!({ "workflow_type": "tools", "required_tools": ["calc"] }));
    let mid = create(&c, "Tool mid", json!({ "workflow_type": "tools", "base_template_id": base.id }));
    create(&c, "Tool leaf", json!({ "workflow_type": "tools", "base_template_id": mid.id }));
    // ... but a `plain` template cannot derive from one that has tools.
    let e = err(block_on(c.create(draft("Plain child", json!({ "base_template_id": CODE_ASSISTANT })))));
    assert!(has_violation(&e, "workflow_type", "WORKFLOW_TYPE_MISMATCH"), "{:?}", violations(&e));
    // And `full` is satisfied by tools from the base plus its own retriever.
    create(&c, "Full child", json!({ "workflow_type": "full", "base_template_id": base.id, "required_retrievers": ["docs"] }));
}

// ---- get / visibility ----------------------------------------------------------------------

#[test]
fn get_visibility_rules() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    let private = create(&c1, "Mine", json!({}));
    let public = create(&c1, "Shared", json!({ "is_public": true }));
    assert_eq!(get(&c1, &private.id), private);
    assert_eq!(get(&c2, &public.id), public);
    // Another user's private template does not exist for them: NOT_FOUND, never FORBIDDEN.
    let e = err(block_on(c2.get(&private.id)));
    assert_eq!(e.code(), "NOT_FOUND");
    assert_eq!(e.code(), err(block_on(c2.get(MISSING))).code());
    // Built-ins are visible to everyone, unmodified.
    for b in builtin::all() {
        assert_eq!(&get(&c2, &b.id), b);
        assert!(get(&c2, &b.id).is_builtin);
    }
    assert_eq!(get(&c1, &DOCUMENT_QA.to_lowercase()).id, DOCUMENT_QA);
    // Malformed ids are INVALID_ARGUMENT.
    for bad in ["", "nope", "01ARZ3NDEKTSV4RRFFQ69G5FAU", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAVV"] {
        assert_eq!(err(block_on(c1.get(bad))).code(), "INVALID_ARGUMENT", "{bad:?}");
    }
}

#[test]
fn others_private_template_is_not_found_for_every_operation() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    let p = create(&c1, "Private", json!({}));
    let id = p.id.as_str();
    assert_eq!(err(block_on(c2.update(id, json!({ "description": "x" }), no_opts()))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.new_version(id, json!({}), None, no_opts()))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.delete(id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.versions(id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.chain(id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.resolve(id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.derived(id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.diff(id, GENERAL_ASSISTANT))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.record_usage(id, &run(true, 1, 1, 0.0)))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.rate(id, 3.0))).code(), "NOT_FOUND");
    // Deriving from it is BASE_NOT_FOUND.
    let e = err(block_on(c2.create(draft("Sneaky", json!({ "base_template_id": id })))));
    assert_eq!(e.code(), "BASE_NOT_FOUND");
    assert_eq!(fx.stored(id).unwrap().record, p);
}

// ---- update --------------------------------------------------------------------------------

#[test]
fn update_edits_in_place() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Alpha", json!({ "default_params": { "a": 1 } }));
    fx.tick();
    let u = ok(block_on(c.update(&t.id, json!({ "description": "new", "category": "business" }), no_opts())));
    assert_eq!(u.id, t.id);
    assert_eq!(u.version, 1);
    assert!(u.is_latest);
    assert_eq!(u.description, "new");
    assert_eq!(u.category, TemplateCategory::Business);
    assert_eq!(u.created_at, t.created_at);
    assert_eq!(u.updated_at, format_ms(fx.clock.get()));
    assert_eq!(u.config_hash, t.config_hash, "description and category are not configuration");
    assert_eq!(fx.stored(&t.id).unwrap().record, u);
    assert_eq!(fx.snapshot().templates.len(), 1);

    let u2 = ok(block_on(c.update(&t.id, json!({ "default_params": { "a": 2 } }), no_opts())));
    assert_ne!(u2.config_hash, u.config_hash);
    assert_eq!(u2.config_hash, config_hash(&u2.config()));

    // Read-only fields and bad values are refused, and nothing changes.
    let e = err(block_on(c.update(&t.id, json!({ "version": 5, "usage_count": 1 }), no_opts())));
    assert!(has_violation(&e, "version", "READ_ONLY") && has_violation(&e, "usage_count", "READ_ONLY"));
    let e = err(block_on(c.update(&t.id, json!({ "name": "" }), no_opts())));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    assert_eq!(err(block_on(c.update(&t.id, json!([1]), no_opts()))).code(), "VALIDATION_FAILED");
    assert_eq!(fx.stored(&t.id).unwrap().record, u2);
}

#[test]
fn update_moves_updated_at_strictly_forward_even_with_a_frozen_or_backward_clock() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Alpha", json!({}));
    let u1 = ok(block_on(c.update(&t.id, json!({ "description": "1" }), no_opts())));
    let u2 = ok(block_on(c.update(&t.id, json!({ "description": "2" }), no_opts())));
    assert_eq!(u1.updated_at, format_ms(T0 + 1));
    assert_eq!(u2.updated_at, format_ms(T0 + 2));
    fx.clock.set(T0 - 60_000);
    let u3 = ok(block_on(c.update(&t.id, json!({ "description": "3" }), no_opts())));
    assert_eq!(u3.updated_at, format_ms(T0 + 3));
    assert!(u3.updated_at >= u3.created_at);
}

#[test]
fn update_if_match() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Alpha", json!({}));
    fx.tick();
    let u = ok(block_on(c.update(&t.id, json!({ "description": "a" }), if_match(&t.updated_at))));
    // The token of the copy before that edit is stale now.
    let e = err(block_on(c.update(&t.id, json!({ "description": "b" }), if_match(&t.updated_at))));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(fx.stored(&t.id).unwrap().record, u);
    // The current token works.
    let u2 = ok(block_on(c.update(&t.id, json!({ "description": "c" }), if_match(&u.updated_at))));
    assert_eq!(u2.description, "c");
    // A token that is not a timestamp is a bad argument.
    assert_eq!(err(block_on(c.update(&t.id, json!({}), if_match("yesterday")))).code(), "INVALID_ARGUMENT");
}

#[test]
fn update_access_control() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    let public = create(&c1, "Public", json!({ "is_public": true }));
    let id = public.id.as_str();
    assert_eq!(err(block_on(c2.update(id, json!({ "description": "x" }), no_opts()))).code(), "FORBIDDEN");
    assert_eq!(err(block_on(c2.new_version(id, json!({}), None, no_opts()))).code(), "FORBIDDEN");
    assert_eq!(err(block_on(c2.delete(id))).code(), "FORBIDDEN");
    assert_eq!(fx.stored(id).unwrap().record, public);
    for b in [GENERAL_ASSISTANT, CODE_ASSISTANT] {
        assert_eq!(err(block_on(c1.update(b, json!({ "description": "x" }), no_opts()))).code(), "BUILTIN_READ_ONLY");
        assert_eq!(err(block_on(c1.new_version(b, json!({}), None, no_opts()))).code(), "BUILTIN_READ_ONLY");
        assert_eq!(err(block_on(c1.delete(b))).code(), "BUILTIN_READ_ONLY");
    }
    assert!(fx.snapshot().templates.len() == 1);
}

#[test]
fn update_name_taken_and_rename_renames_every_version() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let v1 = create(&c, "Alpha", json!({}));
    let other = create(&c, "Beta", json!({}));
    let v2 = ok(block_on(c.new_version(&v1.id, json!({}), None, no_opts())));
    let v3 = ok(block_on(c.new_version(&v2.id, json!({}), None, no_opts())));
    assert_eq!(err(block_on(c.update(&v3.id, json!({ "name": "beta" }), no_opts()))).code(), "NAME_TAKEN");
    assert_eq!(err(block_on(c.update(&other.id, json!({ "name": " ALPHA " }), no_opts()))).code(), "NAME_TAKEN");
    // update edits the latest version only.
    assert_eq!(err(block_on(c.update(&v1.id, json!({ "description": "x" }), no_opts()))).code(), "INVALID_ARGUMENT");

    let r = ok(block_on(c.update(&v3.id, json!({ "name": "Omega " }), no_opts())));
    assert_eq!(r.name, "Omega");
    let vs = ok(block_on(c.versions(&v1.id)));
    assert_eq!(ids(&vs), vec![v3.id.clone(), v2.id.clone(), v1.id.clone()]);
    assert!(vs.iter().all(|v| v.name == "Omega"), "{:?}", vs.iter().map(|v| &v.name).collect::<Vec<_>>());
    for v in [&v1, &v2, &v3] {
        assert_eq!(fx.stored(&v.id).unwrap().record.name, "Omega");
    }
    assert_eq!(fx.latest_count(U1, "omega"), 1);
    // The old name is free again; versions of the renamed template stay together.
    create(&c, "Alpha", json!({}));
    let v4 = ok(block_on(c.new_version(&v3.id, json!({}), None, no_opts())));
    assert_eq!((v4.name.as_str(), v4.version), ("Omega", 4));
    // A case-only rename is allowed.
    let r = ok(block_on(c.update(&v4.id, json!({ "name": "OMEGA" }), no_opts())));
    assert_eq!(r.name, "OMEGA");
    assert!(ok(block_on(c.versions(&v1.id))).iter().all(|v| v.name == "OMEGA"));
}

#[test]
fn update_of_a_base_that_breaks_a_derived_template_is_refused() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let base = create(&c, "Base", json!({ "workflow_type": "tools", "required_tools": ["calc"] }));
    let child = create(&c, "Child", json!({ "workflow_type": "tools", "base_template_id": base.id }));
    let grandchild = create(&c, "Grandchild", json!({ "workflow_type": "tools", "base_template_id": child.id }));
    // On its own, a plain template without tools is fine; its descendants would lose their tools.
    let e = err(block_on(c.update(&base.id, json!({ "workflow_type": "plain", "required_tools": null }), no_opts())));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    let v = violations(&e);
    assert!(v.iter().any(|(f, c)| f.starts_with("derived[") && c == "WORKFLOW_TYPE_MISMATCH"), "{v:?}");
    assert_eq!(fx.stored(&base.id).unwrap().record, base);
    // Same for the middle link (the grandchild would break).
    let e = err(block_on(c.update(&child.id, json!({ "base_template_id": null }), no_opts())));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    assert_eq!(fx.stored(&child.id).unwrap().record, child);
    assert_eq!(fx.stored(&grandchild.id).unwrap().record, grandchild);
    // Adding a second tool is fine.
    ok(block_on(c.update(&base.id, json!({ "required_tools": ["calc", "web"] }), no_opts())));
}

#[test]
fn update_that_would_close_a_cycle_is_refused() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let a = create(&c, "A", json!({}));
    let b = create(&c, "B", json!({ "base_template_id": a.id }));
    let e = err(block_on(c.update(&a.id, json!({ "base_template_id": b.id }), no_opts())));
    assert_eq!(e.code(), "INHERITANCE_CYCLE");
    let e = err(block_on(c.update(&a.id, json!({ "base_template_id": a.id }), no_opts())));
    assert_eq!(e.code(), "INHERITANCE_CYCLE");
    assert_eq!(fx.stored(&a.id).unwrap().record, a);
    assert_eq!(fx.stored(&b.id).unwrap().record, b);
}

// ---- versions ------------------------------------------------------------------------------

#[test]
fn new_version_and_versions() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let v1 = create(&c, "Alpha", json!({ "default_params": { "model": { "name": "a", "temperature": 0.5 } }, "is_public": true }));
    use_once(&c, &v1.id);
    assert_eq!(fx.latest_count(U1, "alpha"), 1);
    fx.tick();
    let v2 = ok(block_on(c.new_version(
        &v1.id,
        json!({ "default_params": { "model": { "name": "b", "temperature": 0.5 } } }),
        Some("switch model".into()),
        no_opts(),
    )));
    assert_eq!(v2.version, 2);
    assert_ne!(v2.id, v1.id);
    assert!(v2.id > v1.id, "ids are monotonic");
    assert!(v2.is_latest);
    assert_eq!((v2.name.as_str(), v2.owner_id.as_str()), ("Alpha", U1));
    assert!(v2.is_public, "other fields carry over");
    assert_eq!(v2.changelog.as_deref(), Some("switch model"));
    assert_eq!(v2.created_at, format_ms(fx.clock.get()));
    assert_eq!(v2.created_at, v2.updated_at);
    assert_eq!(v2.config_hash, config_hash(&v2.config()));
    assert_ne!(v2.config_hash, v1.config_hash);
    assert_eq!((v2.usage_count, v2.last_used_at.clone()), (0, None), "statistics start over");
    assert_eq!(fx.stored(&v2.id).unwrap().record, v2);
    let old = get(&c, &v1.id);
    assert!(!old.is_latest);
    assert_eq!(old.usage_count, 1);
    assert_eq!(fx.latest_count(U1, "alpha"), 1);

    assert_eq!(ids(&ok(block_on(c.versions(&v1.id)))), vec![v2.id.clone(), v1.id.clone()]);
    assert_eq!(ids(&ok(block_on(c.versions(&v2.id)))), vec![v2.id.clone(), v1.id.clone()]);
    // Other users see public versions too.
    assert_eq!(ids(&ok(block_on(fx.cat(U2).versions(&v2.id)))), vec![v2.id.clone(), v1.id.clone()]);

    // Only the latest gets a new version.
    assert_eq!(err(block_on(c.new_version(&v1.id, json!({}), None, no_opts()))).code(), "INVALID_ARGUMENT");
    // A new version keeps the name.
    let e = err(block_on(c.new_version(&v2.id, json!({ "name": "Beta" }), None, no_opts())));
    assert!(has_violation(&e, "name", "READ_ONLY"), "{:?}", violations(&e));
    // Read-only fields are refused.
    let e = err(block_on(c.new_version(&v2.id, json!({ "version": 9 }), None, no_opts())));
    assert!(has_violation(&e, "version", "READ_ONLY"));

    let v3 = ok(block_on(c.new_version(&v2.id, Value::Null, None, no_opts())));
    assert_eq!((v3.version, v3.changelog.clone()), (3, None));
    assert_eq!(ids(&ok(block_on(c.versions(&v1.id)))), vec![v3.id.clone(), v2.id.clone(), v1.id.clone()]);
    assert_eq!(fx.latest_count(U1, "alpha"), 1);
    assert_eq!(fx.snapshot().templates.iter().filter(|s| s.record.is_latest).count(), 1);

    // Built-ins have one version.
    assert_eq!(ids(&ok(block_on(c.versions(CODE_ASSISTANT)))), vec![CODE_ASSISTANT.to_string()]);
}

#[test]
fn new_version_if_match() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let v1 = create(&c, "Alpha", json!({}));
    let token = v1.updated_at.clone();
    let edited = ok(block_on(c.update(&v1.id, json!({ "description": "edit" }), no_opts())));
    let e = err(block_on(c.new_version(&v1.id, json!({}), None, if_match(&token))));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(ok(block_on(c.versions(&v1.id))).len(), 1);
    assert_eq!(fx.stored(&v1.id).unwrap().record, edited);
    let v2 = ok(block_on(c.new_version(&v1.id, json!({}), None, if_match(&edited.updated_at))));
    assert_eq!(v2.version, 2);
    // The previous latest moved on when it lost is_latest.
    assert!(fx.stored(&v1.id).unwrap().record.updated_at > edited.updated_at);
}

#[test]
fn diff_reaches_inside_default_params() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let v1 = create(&c, "Alpha", json!({ "default_params": { "model": { "name": "a", "temperature": 0.5 }, "k": 1 } }));
    fx.tick();
    let v2 = ok(block_on(c.new_version(
        &v1.id,
        json!({ "default_params": { "model": { "name": "b", "temperature": 0.5 }, "new": true } }),
        None,
        no_opts(),
    )));
    let d = ok(block_on(c.diff(&v1.id, &v2.id)));
    let by_path: BTreeMap<&str, (&Value, &Value)> = d.iter().map(|ch| (ch.path.as_str(), (&ch.before, &ch.after))).collect();
    assert_eq!(by_path.get("/default_params/model/name"), Some(&(&json!("a"), &json!("b"))));
    assert_eq!(by_path.get("/default_params/k"), Some(&(&json!(1), &Value::Null)));
    assert_eq!(by_path.get("/default_params/new"), Some(&(&Value::Null, &json!(true))));
    assert_eq!(by_path.get("/version"), Some(&(&json!(1), &json!(2))));
    assert!(by_path.contains_key("/id"));
    assert!(!by_path.contains_key("/default_params/model/temperature"));
    assert!(!by_path.contains_key("/default_params/model"));
    assert!(!by_path.contains_key("/name"));
    // A template against itself: no change.
    assert!(ok(block_on(c.diff(&v2.id, &v2.id))).is_empty());
}

// ---- delete --------------------------------------------------------------------------------

#[test]
fn delete_is_refused_while_derived_templates_exist() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    let a = create(&c1, "A", json!({ "is_public": true }));
    let b = create(&c1, "B", json!({ "base_template_id": a.id }));
    match err(block_on(c1.delete(&a.id))) {
        Error::HasDerived { id, derived, .. } => {
            assert_eq!(id, a.id);
            assert_eq!(derived, vec![b.id.clone()]);
        }
        other => panic!("expected HAS_DERIVED, got {other}"),
    }
    // A child the owner cannot see still blocks the delete, without leaking its id.
    let hidden = create(&c2, "Hidden", json!({ "base_template_id": a.id }));
    ok(block_on(c1.delete(&b.id)));
    let e = err(block_on(c1.delete(&a.id)));
    assert_eq!(e.code(), "HAS_DERIVED");
    assert!(!e.to_string().contains(&hidden.id), "{e}");
    assert!(!e.details().to_string().contains(&hidden.id));
    assert_eq!(fx.stored(&a.id).unwrap().record, a);
    ok(block_on(c2.delete(&hidden.id)));
    ok(block_on(c1.delete(&a.id)));
    assert_eq!(err(block_on(c1.get(&a.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c1.delete(&a.id))).code(), "NOT_FOUND");
    assert!(fx.snapshot().templates.is_empty());
}

#[test]
fn deleting_the_latest_promotes_the_highest_remaining_version() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let v1 = create(&c, "Alpha", json!({}));
    let v2 = ok(block_on(c.new_version(&v1.id, json!({}), None, no_opts())));
    let v3 = ok(block_on(c.new_version(&v2.id, json!({}), None, no_opts())));
    ok(block_on(c.delete(&v3.id)));
    assert!(get(&c, &v2.id).is_latest);
    assert!(!get(&c, &v1.id).is_latest);
    assert_eq!(fx.latest_count(U1, "alpha"), 1);
    assert_eq!(ids(&ok(block_on(c.versions(&v1.id)))), vec![v2.id.clone(), v1.id.clone()]);
    // The promoted version can be edited and versioned again.
    let v4 = ok(block_on(c.new_version(&v2.id, json!({}), None, no_opts())));
    assert_eq!(v4.version, 3, "version numbers follow the highest remaining version");
    // Deleting an older version leaves the latest alone.
    ok(block_on(c.delete(&v1.id)));
    assert!(get(&c, &v4.id).is_latest);
    assert!(!get(&c, &v2.id).is_latest);
    ok(block_on(c.delete(&v4.id)));
    assert!(get(&c, &v2.id).is_latest);
    ok(block_on(c.delete(&v2.id)));
    assert_eq!(fx.latest_count(U1, "alpha"), 0);
    create(&c, "alpha", json!({}));
}

#[test]
fn delete_removes_the_ratings_of_the_template() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    let t = create(&c1, "Rated", json!({ "is_public": true }));
    ok(block_on(c1.rate(&t.id, 4.0)));
    ok(block_on(c2.rate(&t.id, 2.0)));
    assert_eq!(block_on(fx.mem.find_ratings(None, Some(&t.id))).unwrap().len(), 2);
    ok(block_on(c1.delete(&t.id)));
    assert!(block_on(fx.mem.find_ratings(None, Some(&t.id))).unwrap().is_empty());
}

// ---- inheritance ---------------------------------------------------------------------------

#[test]
fn chain_and_resolve_merge_deeply_with_provenance() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let a = create(
        &c,
        "A",
        json!({ "base_template_id": GENERAL_ASSISTANT, "default_params": { "model": { "temperature": 0.2 }, "style": { "tone": "dry", "length": "short" } } }),
    );
    let b = create(&c, "B", json!({ "base_template_id": a.id, "default_params": { "system_prompt": null, "style": { "length": "long" } } }));
    let leaf = create(&c, "C", json!({ "base_template_id": b.id, "default_params": { "model": { "max_tokens": 2048 }, "extra": [1, 2] } }));

    let chain = ok(block_on(c.chain(&leaf.id)));
    let got: Vec<(String, String, Option<String>, usize)> = chain.iter().map(|l| (l.id.clone(), l.name.clone(), l.base_template_id.clone(), l.level)).collect();
    assert_eq!(
        got,
        vec![
            (leaf.id.clone(), "C".into(), Some(b.id.clone()), 0),
            (b.id.clone(), "B".into(), Some(a.id.clone()), 1),
            (a.id.clone(), "A".into(), Some(GENERAL_ASSISTANT.into()), 2),
            (GENERAL_ASSISTANT.into(), "General Assistant".into(), None, 3),
        ]
    );

    let r = ok(block_on(c.resolve(&leaf.id)));
    assert_eq!(r.id, leaf.id);
    assert_eq!(r.chain, chain);
    assert_eq!(r.effective.workflow_type, WorkflowType::Plain);
    assert_eq!(
        Value::Object(r.effective.default_params.clone()),
        json!({
            "model": { "name": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 2048 },
            "style": { "tone": "dry", "length": "long" },
            "extra": [1, 2]
        })
    );
    let want: BTreeMap<String, String> = [
        ("/model/name", GENERAL_ASSISTANT),
        ("/model/temperature", a.id.as_str()),
        ("/model/max_tokens", leaf.id.as_str()),
        ("/style/tone", a.id.as_str()),
        ("/style/length", b.id.as_str()),
        ("/extra", leaf.id.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(r.provenance, want);
    let expect_hash = config_hash(&ConfigParts {
        workflow_type: WorkflowType::Plain,
        default_params: &r.effective.default_params,
        required_tools: &[],
        required_retrievers: &[],
        base_template_id: None,
    });
    assert_eq!(r.resolved_hash, expect_hash);
    assert_ne!(r.resolved_hash, leaf.config_hash);

    // For a template without a base, the resolved hash is its config_hash.
    let root = create(&c, "Root", json!({ "default_params": { "x": { "y": null } } }));
    let rr = ok(block_on(c.resolve(&root.id)));
    assert_eq!(rr.resolved_hash, root.config_hash);
    assert_eq!(rr.effective.default_params, root.default_params);
    assert_eq!(rr.chain.len(), 1);
    let rb = ok(block_on(c.resolve(CODE_ASSISTANT)));
    assert_eq!(rb.resolved_hash, builtin::get(CODE_ASSISTANT).unwrap().config_hash);
    assert_eq!(ok(block_on(c.chain(CODE_ASSISTANT))).len(), 1);
}

#[test]
fn resolve_unions_tools_and_retrievers_root_first() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let root = create(&c, "Root", json!({ "workflow_type": "tools", "required_tools": ["b", "a"] }));
    let mid = create(&c, "Mid", json!({ "workflow_type": "full", "base_template_id": root.id, "required_tools": ["c", "a"], "required_retrievers": ["r1"] }));
    let leaf = create(&c, "Leaf", json!({ "workflow_type": "full", "base_template_id": mid.id, "required_retrievers": ["r2", "r1"] }));
    let r = ok(block_on(c.resolve(&leaf.id)));
    assert_eq!(r.effective.workflow_type, WorkflowType::Full);
    assert_eq!(r.effective.required_tools, vec!["b", "a", "c"]);
    assert_eq!(r.effective.required_retrievers, vec!["r1", "r2"]);
}

#[test]
fn sixteen_levels_are_fine_and_the_seventeenth_is_too_deep() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let mut prev = create(&c, "L0", json!({ "default_params": { "level": 0 } }));
    let root = prev.id.clone();
    for i in 1..16 {
        prev = create(&c, &format!("L{i}"), json!({ "base_template_id": prev.id, "default_params": { "level": i } }));
    }
    let chain = ok(block_on(c.chain(&prev.id)));
    assert_eq!(chain.len(), 16);
    assert_eq!(chain.iter().map(|l| l.level).collect::<Vec<_>>(), (0..16).collect::<Vec<_>>());
    assert_eq!(chain[15].id, root);
    let r = ok(block_on(c.resolve(&prev.id)));
    assert_eq!(r.effective.default_params.get("level"), Some(&json!(15)));
    let e = err(block_on(c.create(draft("L16", json!({ "base_template_id": prev.id })))));
    assert_eq!(e.code(), "INHERITANCE_TOO_DEEP");
    assert_eq!(fx.snapshot().templates.len(), 16);
    // A built-in root counts as a level too.
    let mut prev = create(&c, "B1", json!({ "base_template_id": GENERAL_ASSISTANT }));
    for i in 2..16 {
        prev = create(&c, &format!("B{i}"), json!({ "base_template_id": prev.id }));
    }
    assert_eq!(ok(block_on(c.chain(&prev.id))).len(), 16);
    assert_eq!(err(block_on(c.create(draft("B16", json!({ "base_template_id": prev.id }))))).code(), "INHERITANCE_TOO_DEEP");
    // Re-basing a deep subtree under another chain is refused as well.
    let short = create(&c, "Short", json!({}));
    assert_eq!(err(block_on(c.update(&root, json!({ "base_template_id": short.id }), no_opts()))).code(), "INHERITANCE_TOO_DEEP");
}

#[test]
fn base_not_found() {
    let fx = Fx::frozen();
    let c1 = fx.cat(U1);
    let c2 = fx.cat(U2);
    assert_eq!(err(block_on(c1.create(draft("x", json!({ "base_template_id": MISSING }))))).code(), "BASE_NOT_FOUND");
    let private = create(&c2, "Theirs", json!({}));
    let public = create(&c2, "Theirs public", json!({ "is_public": true }));
    assert_eq!(err(block_on(c1.create(draft("y", json!({ "base_template_id": private.id }))))).code(), "BASE_NOT_FOUND");
    let d = create(&c1, "z", json!({ "base_template_id": public.id }));
    assert_eq!(d.base_template_id.as_deref(), Some(public.id.as_str()));
    let e = err(block_on(c1.create(draft("w", json!({ "base_template_id": "abc" })))));
    assert!(has_violation(&e, "base_template_id", "INVALID_ID"), "{:?}", violations(&e));
    assert_eq!(err(block_on(c1.update(&d.id, json!({ "base_template_id": MISSING }), no_opts()))).code(), "BASE_NOT_FOUND");
}

#[test]
fn a_cycle_planted_in_storage_is_reported_with_its_ids() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let a = create(&c, "A", json!({}));
    let b = create(&c, "B", json!({ "base_template_id": a.id }));
    let mut planted = a.clone();
    planted.base_template_id = Some(b.id.clone());
    planted.config_hash = config_hash(&planted.config());
    fx.plant(planted);
    for id in [&a.id, &b.id] {
        for e in [err(block_on(c.chain(id))), err(block_on(c.resolve(id)))] {
            match &e {
                Error::InheritanceCycle { ids, .. } => {
                    assert!(ids.contains(&a.id) && ids.contains(&b.id), "{ids:?}");
                }
                other => panic!("expected INHERITANCE_CYCLE, got {}: {other}", other.code()),
            }
            assert_eq!(e.code(), "INHERITANCE_CYCLE");
            let d = e.details();
            assert!(d["ids"].as_array().is_some_and(|l| l.contains(&json!(a.id)) && l.contains(&json!(b.id))), "{d}");
        }
    }
    // Deriving from a template on the cycle is refused the same way; get itself still works.
    assert_eq!(err(block_on(c.create(draft("C", json!({ "base_template_id": b.id }))))).code(), "INHERITANCE_CYCLE");
    assert_eq!(get(&c, &a.id).base_template_id, Some(b.id.clone()));
    // A self-loop too.
    let s = create(&c, "Self", json!({}));
    let mut planted = s.clone();
    planted.base_template_id = Some(s.id.clone());
    planted.config_hash = config_hash(&planted.config());
    fx.plant(planted);
    assert_eq!(err(block_on(c.chain(&s.id))).code(), "INHERITANCE_CYCLE");
}

#[test]
fn a_record_with_a_wrong_hash_fails_integrity_on_read() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "A", json!({ "is_public": true, "default_params": { "a": 1 } }));
    let mut bad = t.clone();
    bad.default_params.insert("a".into(), json!(2));
    fx.plant(bad);
    let e = err(block_on(c.get(&t.id)));
    assert_eq!(e.code(), "INTEGRITY");
    assert_eq!(e.details()["id"], json!(t.id));
    assert_eq!(err(block_on(fx.cat(U2).get(&t.id))).code(), "INTEGRITY");
    assert_eq!(err(block_on(c.resolve(&t.id))).code(), "INTEGRITY");
    assert_eq!(err(block_on(c.update(&t.id, json!({ "description": "x" }), no_opts()))).code(), "INTEGRITY");
    let mut bad2 = t.clone();
    bad2.config_hash = "0".repeat(64);
    fx.plant(bad2);
    assert_eq!(err(block_on(c.get(&t.id))).code(), "INTEGRITY");
}

#[test]
fn derived_lists_direct_visible_children() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
    let a = create(&c1, "A", json!({ "is_public": true, "base_template_id": GENERAL_ASSISTANT }));
    let b = create(&c1, "B", json!({ "base_template_id": a.id }));
    let cc = create(&c2, "C", json!({ "base_template_id": a.id, "is_public": true }));
    let d = create(&c2, "D", json!({ "base_template_id": a.id }));
    create(&c1, "E", json!({ "base_template_id": b.id }));
    let set = |v: Vec<WorkflowTemplate>| ids(&v).into_iter().collect::<BTreeSet<_>>();
    let want = |xs: &[&WorkflowTemplate]| idv(xs).into_iter().collect::<BTreeSet<_>>();
    assert_eq!(set(ok(block_on(c1.derived(&a.id)))), want(&[&b, &cc]));
    assert_eq!(set(ok(block_on(c2.derived(&a.id)))), want(&[&cc, &d]));
    assert_eq!(set(ok(block_on(c3.derived(&a.id)))), want(&[&cc]));
    assert_eq!(set(ok(block_on(c3.derived(GENERAL_ASSISTANT)))), want(&[&a]));
    assert!(ok(block_on(c1.derived(&cc.id))).is_empty());
}

// ---- usage and ratings ---------------------------------------------------------------------

#[test]
fn record_usage_counts_and_averages() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Used", json!({}));
    fx.tick();
    ok(block_on(c.record_usage(&t.id, &run(true, 100, 10, 0.5))));
    fx.tick();
    ok(block_on(c.record_usage(&t.id, &run(false, 300, 20, 0.25))));
    fx.tick();
    let r = ok(block_on(c.record_usage(&t.id, &run(true, 200, 30, 0.25))));
    assert_eq!(r.usage_count, 3);
    assert!((r.success_rate.unwrap() - 2.0 / 3.0).abs() < 1e-12, "{:?}", r.success_rate);
    assert_eq!(r.avg_response_time_ms, Some(200));
    assert_eq!(r.total_tokens_used, 60);
    assert_eq!(r.avg_tokens_per_use, Some(20.0));
    assert_eq!(r.total_cost, 1.0);
    assert_eq!(r.last_used_at.as_deref(), Some(format_ms(fx.clock.get()).as_str()));
    // Statistics are not edits: updated_at and the configuration stay put.
    assert_eq!(r.updated_at, t.updated_at);
    assert_eq!(r.config_hash, t.config_hash);
    assert_eq!(get(&c, &t.id), r);
}

#[test]
fn usage_of_a_builtin_persists_beside_it() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
    ok(block_on(c1.record_usage(CODE_ASSISTANT, &run(true, 100, 5, 0.1))));
    ok(block_on(c1.record_usage(CODE_ASSISTANT, &run(false, 200, 5, 0.1))));
    ok(block_on(c2.record_usage(&CODE_ASSISTANT.to_lowercase(), &run(true, 300, 5, 0.1))));
    let g = get(&c3, CODE_ASSISTANT);
    assert_eq!(g.usage_count, 3);
    assert_eq!(g.total_tokens_used, 15);
    assert_eq!(g.avg_response_time_ms, Some(200));
    assert!(g.is_builtin);
    assert_eq!(g.config_hash, builtin::get(CODE_ASSISTANT).unwrap().config_hash);
    // The compiled-in record is untouched; the statistics live in storage.
    assert_eq!(builtin::get(CODE_ASSISTANT).unwrap().usage_count, 0);
    assert_eq!(block_on(fx.mem.get_builtin_stats(CODE_ASSISTANT)).unwrap().unwrap().record.stats.usage_count, 3);
    assert!(fx.snapshot().templates.is_empty(), "built-ins are never written as templates");
    // Discovery shows them.
    let page = discover(&c3, json!({ "text": "code assistant" }));
    assert_eq!(ids(&page.items), vec![CODE_ASSISTANT.to_string()]);
    assert_eq!(page.items[0].usage_count, 3);
    // Ratings too.
    ok(block_on(c1.rate(CODE_ASSISTANT, 5.0)));
    ok(block_on(c2.rate(CODE_ASSISTANT, 4.0)));
    let g = get(&c3, CODE_ASSISTANT);
    assert_eq!((g.rating, g.rating_count, g.usage_count), (Some(4.5), 2, 3));
}

#[test]
fn invalid_usage_runs_are_refused() {
    let e = err(UsageRun::from_value(&json!({ "success": "yes", "responseTimeMs": -1, "tokens": 1.5, "cost": -2, "extra": 1 })));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    let fields: BTreeSet<String> = violations(&e).into_iter().map(|(f, _)| f).collect();
    for f in ["success", "responseTimeMs", "tokens", "cost", "extra"] {
        assert!(fields.contains(f), "{f}: {fields:?}");
    }
    assert_eq!(err(UsageRun::from_value(&json!({}))).code(), "VALIDATION_FAILED");
    assert_eq!(err(UsageRun::from_value(&json!([true]))).code(), "VALIDATION_FAILED");
    assert_eq!(err(UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 9007199254740992u64 }))).code(), "VALIDATION_FAILED");
    let r = ok(UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 5 })));
    assert_eq!(r, run(true, 5, 0, 0.0));
    let r = ok(UsageRun::from_value(&json!({ "success": false, "responseTimeMs": 5.0, "tokens": 7, "cost": 0.5 })));
    assert_eq!(r, run(false, 5, 7, 0.5));

    // Counters never pass 2^53-1; a refused run changes nothing.
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Big", json!({}));
    ok(block_on(c.record_usage(&t.id, &run(true, 1, MAX_SAFE_INTEGER, 0.0))));
    let before = fx.stored(&t.id).unwrap();
    assert_eq!(err(block_on(c.record_usage(&t.id, &run(true, 1, 1, 0.0)))).code(), "INVALID_ARGUMENT");
    assert_eq!(fx.stored(&t.id).unwrap(), before);
}

#[test]
fn ratings_one_per_user() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));
    let t = create(&c1, "Rated", json!({ "is_public": true }));
    assert_eq!((t.rating, t.rating_count), (None, 0));
    let r = ok(block_on(c1.rate(&t.id, 4.0)));
    assert_eq!((r.rating, r.rating_count), (Some(4.0), 1));
    let r = ok(block_on(c1.rate(&t.id, 2.0)));
    assert_eq!((r.rating, r.rating_count), (Some(2.0), 1), "a second rating replaces the first");
    let r = ok(block_on(c2.rate(&t.id, 5.0)));
    assert_eq!((r.rating, r.rating_count), (Some(3.5), 2));
    assert_eq!(get(&c3, &t.id).rating, Some(3.5));
    assert_eq!(block_on(fx.mem.get_rating(&t.id, U1)).unwrap().unwrap().record.stars, 2.0);
    assert_eq!(get(&c1, &t.id).updated_at, t.updated_at, "ratings are not edits");

    for bad in [5.01, -0.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = err(block_on(c3.rate(&t.id, bad)));
        assert_eq!(e.code(), "VALIDATION_FAILED", "{bad}");
    }
    assert_eq!(get(&c3, &t.id).rating_count, 2);
    assert!(block_on(fx.mem.get_rating(&t.id, U3)).unwrap().is_none());

    // Zero stars is a rating: rating is null only when there are none.
    let z = create(&c1, "Zero", json!({}));
    let r = ok(block_on(c1.rate(&z.id, 0.0)));
    assert_eq!((r.rating, r.rating_count), (Some(0.0), 1));
    assert_eq!(get(&c1, &z.id).rating, Some(0.0));
    let r = ok(block_on(c1.rate(&z.id, 0.0)));
    assert_eq!((r.rating, r.rating_count), (Some(0.0), 1));
}

// ---- concurrency ---------------------------------------------------------------------------

#[test]
fn two_tabs_stale_if_match_conflicts() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = fx.cat(U1);
    let t = create(&a, "Shared", json!({}));
    let copy_b = get(&b, &t.id);
    ok(block_on(a.update(&t.id, json!({ "description": "from A" }), if_match(&t.updated_at))));
    let e = err(block_on(b.update(&t.id, json!({ "description": "from B" }), if_match(&copy_b.updated_at))));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(get(&a, &t.id).description, "from A");
    let e = err(block_on(b.new_version(&t.id, json!({}), None, if_match(&copy_b.updated_at))));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(fx.latest_count(U1, "shared"), 1);
}

#[test]
fn a_write_that_lands_between_read_and_commit_is_not_overwritten() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U1));
    let t = create(&a, "Shared", json!({}));
    let (b2, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        ok(block_on(b2.update(&id, json!({ "description": "from B" }), no_opts())));
    });
    // Even without ifMatch, A's edit was made from a copy B has since replaced.
    let e = err(block_on(a.update(&t.id, json!({ "description": "from A" }), no_opts())));
    assert_eq!(e.code(), "CONFLICT");
    assert_eq!(get(&a, &t.id).description, "from B");

    // Two tabs making a new version at once: one wins, one latest.
    let (b3, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        ok(block_on(b3.new_version(&id, json!({}), Some("B".into()), no_opts())));
    });
    assert_eq!(err(block_on(a.new_version(&t.id, json!({}), Some("A".into()), no_opts()))).code(), "CONFLICT");
    assert_eq!(fx.latest_count(U1, "shared"), 1);
    let vs = ok(block_on(a.versions(&t.id)));
    assert_eq!(vs.len(), 2);
    assert_eq!(vs[0].changelog.as_deref(), Some("B"));
}

#[test]
fn a_rating_that_lands_while_an_import_folds_ratings_is_never_lost() {
    // Issue 10 item 4: an import recomputes the aggregate of every template its rating rows
    // touch; a rating made meanwhile must fail the import's commit, not vanish from the count.
    let fx = Fx::frozen();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let c = Rc::new(fx.cat(U3));
    let p = create(&a, "Rated meanwhile", json!({ "is_public": true }));
    ok(block_on(a.rate(&p.id, 1.0)));
    let bundle = json!({ "format_version": 1, "ratings": [{ "template_id": p.id, "user_id": U2, "stars": 3.0, "updated_at": "2027-01-01T00:00:00.000Z" }] });
    let (c2, id) = (c.clone(), p.id.clone());
    b.store().before_next_commit(move || {
        ok(block_on(c2.rate(&id, 5.0)));
    });
    assert_eq!(err(block_on(b.import_all(bundle.clone()))).code(), "CONFLICT");
    let got = get(&a, &p.id);
    assert_eq!((got.rating, got.rating_count), (Some(3.0), 2));
    ok(block_on(b.import_all(bundle)));
    let got = get(&a, &p.id);
    assert_eq!((got.rating, got.rating_count), (Some(3.0), 3));
}

#[test]
fn concurrent_usage_from_two_users_loses_no_increment() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U2));
    let t = create(&a, "Popular", json!({ "is_public": true }));
    for target in [t.id.clone(), GENERAL_ASSISTANT.to_string()] {
        for i in 0..50u64 {
            // B records a use between A's read and A's commit: A's commit conflicts and retries.
            let (b2, id) = (b.clone(), target.clone());
            a.store().before_next_commit(move || {
                ok(block_on(b2.record_usage(&id, &run(i % 2 == 0, 100, i, 0.5))));
            });
            ok(block_on(a.record_usage(&target, &run(true, 300, 1000 + i, 0.25))));
            // And a plain alternation.
            ok(block_on(b.record_usage(&target, &run(false, 200, 1, 0.0))));
        }
        let g = get(&a, &target);
        assert_eq!(g.usage_count, 150, "{target}");
        let want_tokens: u64 = (0..50).sum::<u64>() + (0..50).map(|i| 1000 + i).sum::<u64>() + 50;
        assert_eq!(g.total_tokens_used, want_tokens);
        assert_eq!(g.total_cost, 50.0 * 0.5 + 50.0 * 0.25);
        assert_eq!(g.avg_response_time_ms, Some(200));
        // successes: 25 (B, even i) + 50 (A) of 150.
        assert!((g.success_rate.unwrap() - 0.5).abs() < 1e-12, "{:?}", g.success_rate);
    }
}

#[test]
fn an_edit_is_not_refused_because_a_use_was_recorded_meanwhile() {
    // Statistics do not move updated_at, so that "a usage recorded elsewhere must not invalidate
    // an editor's copy" (catalog/usage.rs). The edit below starts from the current copy (its
    // ifMatch token is still current when it commits); another user merely ran the template in
    // between. The edit must go through and keep that use.
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U2));
    let t = create(&a, "Hot", json!({ "is_public": true }));
    let (b2, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        use_once(&b2, &id);
    });
    let u = block_on(a.update(&t.id, json!({ "description": "edited" }), if_match(&t.updated_at)));
    let u = u.unwrap_or_else(|e| panic!("update failed with {} although only statistics moved: {e}", e.code()));
    assert_eq!(u.description, "edited");
    let now = get(&a, &t.id);
    assert_eq!((now.description.as_str(), now.usage_count), ("edited", 1), "the use recorded meanwhile is kept");

    // The same for newVersion.
    let (b3, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        use_once(&b3, &id);
    });
    let v2 = block_on(a.new_version(&t.id, json!({}), None, if_match(&now.updated_at)));
    let v2 = v2.unwrap_or_else(|e| panic!("newVersion failed with {} although only statistics moved: {e}", e.code()));
    assert_eq!(v2.version, 2);
    assert_eq!(get(&a, &t.id).usage_count, 2);
}

#[test]
fn concurrent_ratings_from_two_users_both_count() {
    let fx = Fx::frozen();
    let a = fx.cat(U1);
    let b = Rc::new(fx.cat(U2));
    let t = create(&a, "Rated", json!({ "is_public": true }));
    let (b2, id) = (b.clone(), t.id.clone());
    a.store().before_next_commit(move || {
        ok(block_on(b2.rate(&id, 1.0)));
    });
    let r = ok(block_on(a.rate(&t.id, 4.0)));
    assert_eq!((r.rating, r.rating_count), (Some(2.5), 2));
    assert_eq!(get(&b, &t.id).rating, Some(2.5));
    // The same on a built-in, first ratings on both sides (stats absent when both read).
    let (b3, id) = (b.clone(), CREATIVE_WRITER.to_string());
    a.store().before_next_commit(move || {
        ok(block_on(b3.rate(&id, 3.0)));
    });
    let r = ok(block_on(a.rate(CREATIVE_WRITER, 5.0)));
    assert_eq!((r.rating, r.rating_count), (Some(4.0), 2));
}

// ---- specs ---------------------------------------------------------------------------------

#[test]
fn spec_crud_and_privacy() {
    let fx = Fx::frozen();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    let s = ok(block_on(c1.create_spec(json!({
        "name": " My Spec ", "workflow_type": "rag", "required_retrievers": ["docs"],
        "default_params": { "k": 1 }, "tags": ["t"]
    }))));
    assert_eq!(s.name, "My Spec");
    assert_eq!((s.owner_id.as_str(), s.usage_count, s.last_used_at.clone()), (U1, 0, None));
    assert_eq!(s.created_at, s.updated_at);
    assert_eq!(s.description, "");
    assert_eq!(ok(block_on(c1.get_spec(&s.id))), s);
    assert_eq!(ok(block_on(c1.get_spec(&s.id.to_lowercase()))), s);
    // Specs are private: another user gets NOT_FOUND for everything.
    assert_eq!(err(block_on(c2.get_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.update_spec(&s.id, json!({ "description": "x" }), no_opts()))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.delete_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c2.instantiate_spec(&s.id, Value::Null))).code(), "NOT_FOUND");
    assert!(ok(block_on(c2.list_specs())).is_empty());
    assert_eq!(err(block_on(c1.get_spec("nope"))).code(), "INVALID_ARGUMENT");
    assert_eq!(err(block_on(c1.get_spec(MISSING))).code(), "NOT_FOUND");

    fx.tick();
    let s2 = ok(block_on(c1.create_spec(json!({ "name": "Second", "workflow_type": "plain" }))));
    assert_eq!(ids_s(&ok(block_on(c1.list_specs()))), vec![s2.id.clone(), s.id.clone()]);
    fx.tick();
    let u = ok(block_on(c1.update_spec(&s.id, json!({ "description": "now" }), if_match(&s.updated_at))));
    assert_eq!(u.description, "now");
    assert_eq!(u.updated_at, format_ms(fx.clock.get()));
    assert_eq!(u.created_at, s.created_at);
    assert_eq!(ok(block_on(c1.get_spec(&s.id))), u);
    assert_eq!(ids_s(&ok(block_on(c1.list_specs()))), vec![s.id.clone(), s2.id.clone()], "most recently updated first");
    assert_eq!(err(block_on(c1.update_spec(&s.id, json!({ "description": "x" }), if_match(&s.updated_at)))).code(), "CONFLICT");
    let e = err(block_on(c1.update_spec(&s.id, json!({ "usage_count": 9, "bogus": 1 }), no_opts())));
    assert!(has_violation(&e, "usage_count", "READ_ONLY") && has_violation(&e, "bogus", "UNKNOWN_FIELD"), "{:?}", violations(&e));
    let e = err(block_on(c1.create_spec(json!({ "name": "p", "workflow_type": "plain", "required_tools": ["x"] }))));
    assert!(has_violation(&e, "workflow_type", "WORKFLOW_TYPE_MISMATCH"), "{:?}", violations(&e));
    assert_eq!(ok(block_on(c1.get_spec(&s.id))), u);

    ok(block_on(c1.delete_spec(&s.id)));
    assert_eq!(err(block_on(c1.get_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(err(block_on(c1.delete_spec(&s.id))).code(), "NOT_FOUND");
    assert_eq!(ids_s(&ok(block_on(c1.list_specs()))), vec![s2.id.clone()]);

    // A malformed spec planted in storage fails INTEGRITY on read.
    let mut bad = s2.clone();
    bad.name = " untrimmed".into();
    let rev = block_on(fx.mem.get_spec(&s2.id)).unwrap().unwrap().rev;
    block_on(fx.mem.commit(vec![Write::PutSpec { record: bad, expect: Expect::Rev(rev) }])).unwrap();
    assert_eq!(err(block_on(c1.get_spec(&s2.id))).code(), "INTEGRITY");
}

fn ids_s(v: &[TemplateSpec]) -> Vec<String> {
    v.iter().map(|s| s.id.clone()).collect()
}

#[test]
fn create_spec_reports_every_violation_at_once() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    // SPEC 3: the catalog's VALIDATION_FAILED carries the same full list as validateSpec.
    let e = err(block_on(c.create_spec(json!({ "description": 5, "usage_count": 1 }))));
    assert!(has_violation(&e, "name", "REQUIRED"), "{:?}", violations(&e));
    assert!(has_violation(&e, "workflow_type", "REQUIRED"), "{:?}", violations(&e));
    assert!(has_violation(&e, "description", "TYPE"), "{:?}", violations(&e));
    assert!(has_violation(&e, "usage_count", "READ_ONLY"), "{:?}", violations(&e));
    assert!(fx.snapshot().specs.is_empty());
}

fn spec(c: &Cat, name: &str, base: Option<&str>, wt: &str) -> TemplateSpec {
    ok(block_on(c.create_spec(json!({ "name": name, "workflow_type": wt, "base_template_name": base }))))
}

fn instantiate(c: &Cat, spec_id: &str, name: &str) -> Result<WorkflowTemplate> {
    block_on(c.instantiate_spec(spec_id, json!({ "name": name })))
}

#[test]
fn instantiate_spec_copies_the_spec_and_counts_the_use() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let s = ok(block_on(c.create_spec(json!({
        "name": "Helper", "description": "helps", "workflow_type": "rag", "required_retrievers": ["docs"],
        "default_params": { "k": 3 }, "tags": ["x"], "extra_metadata": { "m": 1 }
    }))));
    fx.tick();
    let t = ok(block_on(c.instantiate_spec(&s.id, Value::Null)));
    assert_eq!((t.name.as_str(), t.description.as_str(), t.workflow_type), ("Helper", "helps", WorkflowType::Rag));
    assert_eq!(t.required_retrievers, Some(vec!["docs".to_string()]));
    assert_eq!(Value::Object(t.default_params.clone()), json!({ "k": 3 }));
    assert_eq!(t.tags, Some(vec!["x".to_string()]));
    assert_eq!(t.extra_metadata.as_ref().map(|m| Value::Object(m.clone())), Some(json!({ "m": 1 })));
    assert_eq!((t.owner_id.as_str(), t.version, t.is_latest, t.base_template_id.clone()), (U1, 1, true, None));
    assert_eq!(t.config_hash, config_hash(&t.config()));
    assert_eq!(fx.stored(&t.id).unwrap().record, t);
    let s1 = ok(block_on(c.get_spec(&s.id)));
    assert_eq!(s1.usage_count, 1);
    assert_eq!(s1.last_used_at.as_deref(), Some(format_ms(fx.clock.get()).as_str()));
    // Overrides win.
    fx.tick();
    let t2 = ok(block_on(c.instantiate_spec(&s.id, json!({ "name": "Helper 2", "is_public": true, "default_params": { "k": 4 } }))));
    assert_eq!((t2.name.as_str(), t2.is_public), ("Helper 2", true));
    assert_eq!(t2.default_params.get("k"), Some(&json!(4)));
    assert_eq!(ok(block_on(c.get_spec(&s.id))).usage_count, 2);
    // Bad overrides are refused and not counted.
    let e = err(block_on(c.instantiate_spec(&s.id, json!({ "name": "Helper 3", "usage_count": 5 }))));
    assert!(has_violation(&e, "usage_count", "READ_ONLY"));
    assert_eq!(err(block_on(c.instantiate_spec(&s.id, json!([1])))).code(), "VALIDATION_FAILED");
    assert_eq!(ok(block_on(c.get_spec(&s.id))).usage_count, 2);
}

#[test]
fn instantiate_spec_resolves_the_base_name() {
    let fx = Fx::frozen();
    let (c1, c2, c3) = (fx.cat(U1), fx.cat(U2), fx.cat(U3));

    // A built-in, by name, case-insensitively.
    let s = spec(&c1, "Coder spec", Some("code assistant"), "tools");
    let t = ok(instantiate(&c1, &s.id, "T1"));
    assert_eq!(t.base_template_id.as_deref(), Some(CODE_ASSISTANT));
    // The user's own latest template of that name comes before the built-in.
    let own_v1 = create(&c1, "Code Assistant", json!({ "workflow_type": "tools", "required_tools": ["mine"] }));
    let own_v2 = ok(block_on(c1.new_version(&own_v1.id, json!({}), None, no_opts())));
    let t = ok(instantiate(&c1, &s.id, "T2"));
    assert_eq!(t.base_template_id.as_deref(), Some(own_v2.id.as_str()));
    // Another user's public template with a built-in's name does not shadow the built-in.
    create(&c2, "Creative Writer", json!({ "is_public": true }));
    let s = spec(&c1, "Writer spec", Some("Creative Writer"), "plain");
    assert_eq!(ok(instantiate(&c1, &s.id, "T3")).base_template_id.as_deref(), Some(CREATIVE_WRITER));
    // Else the single public template of that name (its latest version).
    let g1 = create(&c2, "Gadget", json!({ "is_public": true }));
    let g2 = ok(block_on(c2.new_version(&g1.id, json!({}), None, no_opts())));
    create(&c3, "Gadget", json!({}));
    let s = spec(&c1, "Gadget spec", Some("gadget"), "plain");
    assert_eq!(ok(instantiate(&c1, &s.id, "T4")).base_template_id.as_deref(), Some(g2.id.as_str()));
    // Two public templates of that name from two other users: ambiguous.
    let w2 = create(&c2, "Widget", json!({ "is_public": true }));
    let w3 = create(&c3, "WIDGET", json!({ "is_public": true }));
    let s = spec(&c1, "Widget spec", Some("Widget"), "plain");
    match err(instantiate(&c1, &s.id, "T5")) {
        Error::AmbiguousBase { candidates, .. } => {
            let got: BTreeSet<String> = candidates.into_iter().collect();
            assert_eq!(got, [w2.id.clone(), w3.id.clone()].into_iter().collect());
        }
        other => panic!("expected AMBIGUOUS_BASE, got {}: {other}", other.code()),
    }
    assert_eq!(ok(block_on(c1.get_spec(&s.id))).usage_count, 0);
    // ... unless the user has their own.
    let mine = create(&c1, "widget", json!({}));
    assert_eq!(ok(instantiate(&c1, &s.id, "T5")).base_template_id.as_deref(), Some(mine.id.as_str()));
    // Nothing of that name visible: BASE_NOT_FOUND (private templates of others do not count).
    create(&c2, "Secret", json!({}));
    for name in ["Secret", "Nothing Here"] {
        let s = spec(&c1, &format!("{name} spec"), Some(name), "plain");
        assert_eq!(err(instantiate(&c1, &s.id, "T6")).code(), "BASE_NOT_FOUND", "{name}");
        assert_eq!(ok(block_on(c1.get_spec(&s.id))).usage_count, 0);
    }
    // An explicit base_template_id override skips name resolution.
    let s = spec(&c1, "Override spec", Some("Nothing Here"), "plain");
    let t = ok(block_on(c1.instantiate_spec(&s.id, json!({ "name": "T7", "base_template_id": GENERAL_ASSISTANT }))));
    assert_eq!(t.base_template_id.as_deref(), Some(GENERAL_ASSISTANT));
}

#[test]
fn instantiate_spec_name_taken_leaves_the_spec_unchanged() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let s = spec(&c, "Recipe", None, "plain");
    fx.tick();
    ok(block_on(c.instantiate_spec(&s.id, Value::Null)));
    let after_first = ok(block_on(c.get_spec(&s.id)));
    assert_eq!(after_first.usage_count, 1);
    let before = fx.snapshot();
    fx.tick();
    assert_eq!(err(block_on(c.instantiate_spec(&s.id, Value::Null))).code(), "NAME_TAKEN");
    assert_eq!(ok(block_on(c.get_spec(&s.id))), after_first);
    assert_eq!(fx.snapshot(), before);

    // The name is taken by another tab between the check and the commit: the store refuses the
    // whole transaction, spec counter included.
    let other = Rc::new(fx.cat(U1));
    let o2 = other.clone();
    c.store().before_next_commit(move || {
        ok(block_on(o2.create(draft("Raced", json!({})))));
    });
    assert_eq!(err(block_on(c.instantiate_spec(&s.id, json!({ "name": "raced" })))).code(), "NAME_TAKEN");
    assert_eq!(ok(block_on(c.get_spec(&s.id))), after_first);
    assert_eq!(fx.snapshot().templates.len(), before.templates.len() + 1);
}

// ---- discovery -----------------------------------------------------------------------------

struct Disc {
    fx: Fx,
    t1: WorkflowTemplate,
    t2: WorkflowTemplate,
    t3: WorkflowTemplate,
    t4: WorkflowTemplate,
    t5: WorkflowTemplate,
}

/// t1 "Beta" (U1 public, programming, tags X y, "Finds BUGS fast"), t2 "alpha" (U1 private,
/// tools, research, tags x), t3 "Gamma" (U2 public, programming, "general chat"), t4 "Delta"
/// (U2 private: must never show to U1), t5 "Epsilon" (U1 public, custom).
/// usage: t3 3, t1 1, t2 1, t5 0, t4 5. ratings: t2 4 (1), t3 2 (2), t1 2 (1), t4 5.
/// updated_at: t2 < t3 < t4 < t5 < t1 (t1 edited last).
fn disc() -> Disc {
    let fx = Fx::frozen();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    fx.tick();
    let t1 = create(&c1, "Beta", json!({ "category": "programming", "is_public": true, "tags": ["X", "y"], "description": "Finds BUGS fast" }));
    fx.tick();
    let t2 = create(&c1, "alpha", json!({ "workflow_type": "tools", "required_tools": ["search"], "category": "research", "tags": ["x"] }));
    fx.tick();
    let t3 = create(&c2, "Gamma", json!({ "category": "programming", "is_public": true, "description": "general chat" }));
    fx.tick();
    let t4 = create(&c2, "Delta", json!({ "category": "programming", "tags": ["x", "y"], "description": "bugs alpha Beta" }));
    fx.tick();
    let t5 = create(&c1, "Epsilon", json!({ "is_public": true, "description": "Nothing" }));
    for _ in 0..3 {
        use_once(&c1, &t3.id);
    }
    use_once(&c1, &t1.id);
    use_once(&c1, &t2.id);
    for _ in 0..5 {
        use_once(&c2, &t4.id);
    }
    ok(block_on(c1.rate(&t2.id, 4.0)));
    ok(block_on(c1.rate(&t1.id, 2.0)));
    ok(block_on(c1.rate(&t3.id, 2.0)));
    ok(block_on(c2.rate(&t3.id, 2.0)));
    ok(block_on(c2.rate(&t4.id, 5.0)));
    fx.tick();
    let t1 = ok(block_on(c1.update(&t1.id, json!({ "description": "Finds BUGS fast!" }), no_opts())));
    let t2 = get(&c1, &t2.id);
    let t3 = get(&c1, &t3.id);
    let t4 = get(&c2, &t4.id);
    let t5 = get(&c1, &t5.id);
    Disc { fx, t1, t2, t3, t4, t5 }
}

#[test]
fn discover_sorts() {
    let d = disc();
    let c = d.fx.cat(U1);
    let q = |sort: &str| discover(&c, json!({ "includeBuiltin": false, "sort": sort }));
    let p = q("popular");
    assert_eq!(ids(&p.items), idv(&[&d.t3, &d.t2, &d.t1, &d.t5]));
    assert_eq!((p.total, p.limit, p.offset), (4, 20, 0));
    assert_eq!(ids(&discover(&c, json!({ "includeBuiltin": false })).items), ids(&p.items), "popular is the default");
    assert_eq!(ids(&q("rating").items), idv(&[&d.t2, &d.t3, &d.t1, &d.t5]));
    assert_eq!(ids(&q("recent").items), idv(&[&d.t1, &d.t5, &d.t3, &d.t2]));
    assert_eq!(ids(&q("name").items), idv(&[&d.t2, &d.t1, &d.t5, &d.t3]));
    // Items are the full records with statistics.
    assert_eq!(q("name").items[0], d.t2);
    // Built-ins sort in: popular puts used templates first, then unused ones by name.
    let all = discover(&c, json!({ "limit": 100 }));
    assert_eq!(all.total, 4 + builtin::all().len());
    assert_eq!(ids(&all.items[..3]), idv(&[&d.t3, &d.t2, &d.t1]));
    let rest: Vec<&str> = all.items[3..].iter().map(|t| t.name.as_str()).collect();
    let mut sorted = rest.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(rest, sorted);
    let by_name = discover(&c, json!({ "limit": 100, "sort": "name" }));
    let names: Vec<String> = by_name.items.iter().map(|t| t.name.to_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn discover_filters() {
    let d = disc();
    let c = d.fx.cat(U1);
    let q = |v: Value| {
        let mut v = v;
        v["includeBuiltin"] = json!(false);
        v["sort"] = json!("name");
        ids(&discover(&c, v).items)
    };
    assert_eq!(q(json!({ "category": "programming" })), idv(&[&d.t1, &d.t3]));
    assert_eq!(q(json!({ "workflowType": "tools" })), idv(&[&d.t2]));
    assert_eq!(q(json!({ "tags": ["x"] })), idv(&[&d.t2, &d.t1]));
    assert_eq!(q(json!({ "tags": ["x", "Y"] })), idv(&[&d.t1]));
    assert_eq!(q(json!({ "tags": ["x", "z"] })), Vec::<String>::new());
    assert_eq!(q(json!({ "tags": [] })).len(), 4);
    assert_eq!(q(json!({ "text": "bugs" })), idv(&[&d.t1]));
    assert_eq!(q(json!({ "text": "ALP" })), idv(&[&d.t2]));
    assert_eq!(q(json!({ "text": "  gAmMa " })), idv(&[&d.t3]));
    assert_eq!(q(json!({ "text": "CHAT" })), idv(&[&d.t3]));
    assert_eq!(q(json!({ "text": "n" })), idv(&[&d.t1, &d.t5, &d.t3]), "Finds, Epsilon/Nothing, general");
    assert_eq!(q(json!({ "owner": U2 })), idv(&[&d.t3]));
    assert_eq!(q(json!({ "owner": U1.to_lowercase() })), idv(&[&d.t2, &d.t1, &d.t5]));
    assert_eq!(q(json!({ "owner": U3 })), Vec::<String>::new());
    assert_eq!(q(json!({ "category": "programming", "text": "a", "tags": ["y"] })), idv(&[&d.t1]));
    // Built-ins: included by default, filtered like the rest, or alone by owner.
    let r = discover(&c, json!({ "category": "research", "sort": "name" }));
    assert_eq!(ids(&r.items), vec![d.t2.id.clone(), RESEARCH_ANALYST.to_string()]);
    let b = discover(&c, json!({ "owner": BUILTIN_OWNER, "limit": 100, "sort": "name" }));
    assert_eq!(b.total, builtin::all().len());
    assert!(b.items.iter().all(|t| t.is_builtin));
    assert!(discover(&c, json!({ "owner": BUILTIN_OWNER, "includeBuiltin": false })).items.is_empty());
    let b = discover(&c, json!({ "workflowType": "rag", "limit": 100 }));
    assert!(b.items.iter().all(|t| t.workflow_type == WorkflowType::Rag) && b.total >= 3);
    assert!(discover(&c, json!({ "owner": U1 })).items.iter().all(|t| !t.is_builtin));
}

#[test]
fn discover_never_shows_other_users_private_templates() {
    let d = disc();
    let c = d.fx.cat(U1);
    for sort in ["popular", "rating", "recent", "name"] {
        for extra in [
            json!({}),
            json!({ "latestOnly": false }),
            json!({ "owner": U2 }),
            json!({ "text": "delta" }),
            json!({ "tags": ["x", "y"] }),
            json!({ "category": "programming", "includeBuiltin": false }),
        ] {
            let mut v = extra.clone();
            v["sort"] = json!(sort);
            v["limit"] = json!(100);
            let p = discover(&c, v);
            assert!(!p.items.iter().any(|t| t.id == d.t4.id), "{sort} {extra}");
            assert_eq!(p.total, p.items.len());
        }
    }
    assert_eq!(discover(&c, json!({ "text": "delta" })).total, 0);
    // U2 sees their own private one, but not U1's private t2.
    let c2 = d.fx.cat(U2);
    let p = discover(&c2, json!({ "includeBuiltin": false, "sort": "name" }));
    assert_eq!(ids(&p.items), idv(&[&d.t1, &d.t4, &d.t5, &d.t3]));
    // A third user sees only the public ones.
    let p = discover(&d.fx.cat(U3), json!({ "includeBuiltin": false, "sort": "name" }));
    assert_eq!(ids(&p.items), idv(&[&d.t1, &d.t5, &d.t3]));
}

#[test]
fn discover_latest_only_false_shows_old_versions() {
    let d = disc();
    let c = d.fx.cat(U1);
    let v2 = ok(block_on(c.new_version(&d.t5.id, json!({}), None, no_opts())));
    let latest = discover(&c, json!({ "includeBuiltin": false, "sort": "name" }));
    assert_eq!(ids(&latest.items), idv(&[&d.t2, &d.t1, &v2, &d.t3]));
    let all = discover(&c, json!({ "includeBuiltin": false, "sort": "name", "latestOnly": false }));
    assert_eq!(all.total, 5);
    let got: BTreeSet<String> = ids(&all.items).into_iter().collect();
    let want: BTreeSet<String> = idv(&[&d.t1, &d.t2, &d.t3, &d.t5, &v2]).into_iter().collect();
    assert_eq!(got, want);
    // Both versions of Epsilon. (Losing is_latest is a write, so the old version's updated_at
    // moves to the new version's creation time: on "recent" they tie and the tie ends on id,
    // newest id first.)
    let recent = discover(&c, json!({ "includeBuiltin": false, "sort": "recent", "latestOnly": false, "text": "epsilon" }));
    let old = get(&c, &d.t5.id);
    assert!(!old.is_latest);
    assert_eq!(old.updated_at, v2.updated_at);
    assert_eq!(ids(&recent.items), idv(&[&v2, &old]));
    // Other users see old public versions too, but never private ones.
    let p = discover(&d.fx.cat(U3), json!({ "includeBuiltin": false, "latestOnly": false, "sort": "name" }));
    assert_eq!(ids(&p.items), idv(&[&d.t1, &old, &v2, &d.t3]));
}

#[test]
fn discover_pages() {
    let d = disc();
    let c = d.fx.cat(U1);
    let page = |limit: u64, offset: u64| discover(&c, json!({ "includeBuiltin": false, "sort": "name", "limit": limit, "offset": offset }));
    let p = page(2, 0);
    assert_eq!((ids(&p.items), p.total, p.limit, p.offset), (idv(&[&d.t2, &d.t1]), 4, 2, 0));
    let p = page(2, 1);
    assert_eq!(ids(&p.items), idv(&[&d.t1, &d.t5]));
    let p = page(2, 2);
    assert_eq!(ids(&p.items), idv(&[&d.t5, &d.t3]));
    let p = page(2, 3);
    assert_eq!(ids(&p.items), idv(&[&d.t3]));
    let p = page(2, 4);
    assert!(p.items.is_empty());
    assert_eq!(p.total, 4);
    assert_eq!(page(2, 1000).total, 4);
    // Walking every page of a bigger set (built-ins included) visits each item exactly once.
    for sort in ["popular", "rating", "recent", "name"] {
        let full = discover(&c, json!({ "sort": sort, "limit": 100 }));
        let mut walked = Vec::new();
        let mut offset = 0;
        loop {
            let p = discover(&c, json!({ "sort": sort, "limit": 3, "offset": offset }));
            assert_eq!(p.total, full.total);
            if p.items.is_empty() {
                break;
            }
            walked.extend(ids(&p.items));
            offset += 3;
        }
        assert_eq!(walked, ids(&full.items), "{sort}");
    }
}

#[test]
fn discover_options_parse_and_refuse() {
    let d = DiscoverOptions::default();
    assert_eq!((d.include_builtin, d.latest_only, d.sort, d.limit, d.offset), (true, true, Sort::Popular, 20, 0));
    assert_eq!(ok(DiscoverOptions::from_value(&Value::Null)), d);
    assert_eq!(ok(DiscoverOptions::from_value(&json!({}))), d);
    let o = opts(json!({
        "text": "q", "category": "business", "workflowType": "rag", "tags": [" A ", "b"], "owner": U2.to_lowercase(),
        "includeBuiltin": false, "latestOnly": false, "sort": "recent", "limit": 100, "offset": 5
    }));
    assert_eq!(o.text.as_deref(), Some("q"));
    assert_eq!(o.category, Some(TemplateCategory::Business));
    assert_eq!(o.workflow_type, Some(WorkflowType::Rag));
    assert_eq!(o.tags, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(o.owner.as_deref(), Some(U2));
    assert_eq!((o.include_builtin, o.latest_only, o.sort, o.limit, o.offset), (false, false, Sort::Recent, 100, 5));
    assert_eq!(opts(json!({ "limit": 1 })).limit, 1);
    for (s, want) in [("popular", Sort::Popular), ("rating", Sort::Rating), ("recent", Sort::Recent), ("name", Sort::Name)] {
        assert_eq!(opts(json!({ "sort": s })).sort, want);
    }
    for bad in [
        json!({ "limit": 0 }),
        json!({ "limit": 101 }),
        json!({ "limit": -1 }),
        json!({ "limit": 1.5 }),
        json!({ "limit": "10" }),
        json!({ "offset": -1 }),
        json!({ "sort": "best" }),
        json!({ "sort": "Popular" }),
        json!({ "colour": "red" }),
        json!({ "workflow_type": "rag" }),
        json!({ "category": "misc" }),
        json!({ "workflowType": "chat" }),
        json!({ "owner": "me" }),
        json!({ "tags": "x" }),
        json!({ "tags": [1] }),
        json!({ "includeBuiltin": "no" }),
        json!([]),
        json!("popular"),
    ] {
        let e = err(DiscoverOptions::from_value(&bad));
        assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad}");
    }
}

#[test]
fn popular_by_category() {
    let fx = Fx::frozen();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    let chatter = create(&c1, "Chatter", json!({ "category": "general", "is_public": true }));
    let hidden = create(&c1, "Hidden", json!({ "category": "general" }));
    let helper = create(&c2, "Helper", json!({ "category": "general", "is_public": true }));
    let coder = create(&c2, "Coder", json!({ "category": "programming", "is_public": true }));
    for _ in 0..5 {
        use_once(&c1, &chatter.id);
    }
    for _ in 0..9 {
        use_once(&c1, &hidden.id);
    }
    for _ in 0..2 {
        use_once(&c2, &helper.id);
    }
    use_once(&c2, CODE_ASSISTANT);
    // An old version of a public template does not compete with its latest.
    let chatter2 = ok(block_on(c1.new_version(&chatter.id, json!({}), None, no_opts())));
    for _ in 0..6 {
        use_once(&c1, &chatter2.id);
    }

    let all_cats: Vec<&str> = TemplateCategory::ALL.iter().map(|c| c.as_str()).collect();
    for c in [&c1, &c2, &fx.cat(U3)] {
        let p = ok(block_on(c.popular_by_category(2)));
        let keys: BTreeSet<&str> = p.keys().copied().collect();
        assert_eq!(keys, all_cats.iter().copied().collect::<BTreeSet<_>>());
        for (cat, items) in &p {
            assert!(!items.is_empty() && items.len() <= 2, "{cat}: {}", items.len());
            assert!(items.iter().all(|t| t.category.as_str() == *cat));
            assert!(items.iter().all(|t| t.is_public && t.is_latest));
            assert!(items.windows(2).all(|w| w[0].usage_count >= w[1].usage_count), "{cat}");
        }
        assert_eq!(ids(&p["general"]), idv(&[&chatter2, &helper]));
        assert_eq!(ids(&p["programming"]), vec![CODE_ASSISTANT.to_string(), coder.id.clone()]);
        assert_eq!(ids(&p["creative"]), vec![CREATIVE_WRITER.to_string()]);
        assert_eq!(p["programming"][0].usage_count, 1);
    }
    let p = ok(block_on(c1.popular_by_category(1)));
    assert!(p.values().all(|v| v.len() == 1));
    assert_eq!(ids(&p["general"]), idv(&[&chatter2]));
    let p = ok(block_on(c1.popular_by_category(3)));
    assert_eq!(ids(&p["general"]), vec![chatter2.id.clone(), helper.id.clone(), DOCUMENT_QA.to_string()]);
    let p = ok(block_on(c1.popular_by_category(10)));
    assert_eq!(ids(&p["general"]), vec![chatter2.id.clone(), helper.id.clone(), DOCUMENT_QA.to_string(), GENERAL_ASSISTANT.to_string()]);
    assert_eq!(err(block_on(c1.popular_by_category(0))).code(), "INVALID_ARGUMENT");
}

// ---- export / import -----------------------------------------------------------------------

struct Exported {
    fx: Fx,
    bundle: Value,
    a1: WorkflowTemplate,
    a2: WorkflowTemplate,
    b: WorkflowTemplate,
    c: WorkflowTemplate,
}

fn exported() -> Exported {
    let fx = Fx::frozen();
    let (c1, c2) = (fx.cat(U1), fx.cat(U2));
    let a1 = create(&c1, "Alpha", json!({ "is_public": true, "default_params": { "model": { "name": "a" } }, "tags": ["t"] }));
    fx.tick();
    let a2 = ok(block_on(c1.new_version(&a1.id, json!({ "default_params": { "model": { "name": "b" } } }), Some("v2".into()), no_opts())));
    let b = create(&c1, "Bravo", json!({ "base_template_id": a2.id, "default_params": { "x": 1 } }));
    let c = create(&c1, "Charlie", json!({ "workflow_type": "tools", "base_template_id": CODE_ASSISTANT, "extra_metadata": { "k": [1, 2] } }));
    ok(block_on(c1.create_spec(json!({ "name": "Spec", "workflow_type": "plain", "base_template_name": "Alpha" }))));
    ok(block_on(c1.rate(&a2.id, 4.0)));
    ok(block_on(c1.rate(GENERAL_ASSISTANT, 3.0)));
    ok(block_on(c1.record_usage(&a2.id, &run(true, 120, 7, 0.3))));
    ok(block_on(c1.record_usage(GENERAL_ASSISTANT, &run(false, 80, 3, 0.1))));
    // Another user's things are not exported.
    let other = create(&c2, "Other", json!({ "is_public": true }));
    ok(block_on(c2.rate(&other.id, 1.0)));
    ok(block_on(c2.create_spec(json!({ "name": "Their spec", "workflow_type": "plain" }))));
    fx.tick();
    let bundle = ok(block_on(c1.export_all()));
    let (a1, a2, b, c) = (get(&c1, &a1.id), get(&c1, &a2.id), get(&c1, &b.id), get(&c1, &c.id));
    Exported { fx, bundle, a1, a2, b, c }
}

fn without_exported_at(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("exported_at");
    v
}

#[test]
fn export_contains_what_the_user_owns() {
    let e = exported();
    let b = &e.bundle;
    assert_eq!(b["format_version"], json!(1));
    assert_eq!(b["owner_id"], json!(U1));
    let ts = b["workflow_templates"].as_array().unwrap();
    let got: BTreeSet<&str> = ts.iter().map(|t| t["id"].as_str().unwrap()).collect();
    let want: BTreeSet<&str> = [&e.a1, &e.a2, &e.b, &e.c].iter().map(|t| t.id.as_str()).collect();
    assert_eq!(got, want);
    assert!(ts.iter().all(|t| t["owner_id"] == json!(U1)));
    let specs = b["template_specs"].as_array().unwrap();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0]["name"], json!("Spec"));
    let ratings = b["ratings"].as_array().unwrap();
    assert_eq!(ratings.len(), 2);
    assert!(ratings.iter().all(|r| r["user_id"] == json!(U1)));
    let stats = b["builtin_stats"].as_array().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0]["id"], json!(GENERAL_ASSISTANT));
    assert_eq!(stats[0]["usage_count"], json!(1));
    // Templates are exported exactly as stored.
    for t in [&e.a1, &e.a2, &e.b, &e.c] {
        let v = ts.iter().find(|x| x["id"] == json!(t.id)).unwrap();
        assert_eq!(v, &t.to_value());
    }
}

#[test]
fn export_import_round_trip_reproduces_records_exactly() {
    let e = exported();
    let fx2 = Fx::frozen();
    fx2.clock.set(e.fx.clock.get() + 86_400_000);
    let c = fx2.cat(U1);
    let report = ok(block_on(c.import_all(e.bundle.clone())));
    assert_eq!((report.templates, report.specs, report.ratings, report.builtin_stats), (4, 1, 2, 1));

    let src = e.fx.snapshot();
    let dst = fx2.snapshot();
    let mine = |s: &Snapshot| -> Vec<WorkflowTemplate> { s.templates.iter().filter(|t| t.record.owner_id == U1).map(|t| t.record.clone()).collect() };
    assert_eq!(mine(&dst), mine(&src));
    assert_eq!(dst.templates.len(), 4);
    let my_specs = |s: &Snapshot| -> Vec<TemplateSpec> { s.specs.iter().filter(|x| x.record.owner_id == U1).map(|x| x.record.clone()).collect() };
    assert_eq!(my_specs(&dst), my_specs(&src));
    let my_ratings = |s: &Snapshot| -> Vec<Rating> { s.ratings.iter().filter(|x| x.record.user_id == U1).map(|x| x.record.clone()).collect() };
    assert_eq!(my_ratings(&dst), my_ratings(&src));
    let stats = |s: &Snapshot| -> Vec<BuiltinStats> { s.builtin_stats.iter().map(|x| x.record.clone()).collect() };
    assert_eq!(stats(&dst), stats(&src));

    // The catalog reads them back identically, inheritance included.
    let c_src = e.fx.cat(U1);
    for t in [&e.a1, &e.a2, &e.b, &e.c] {
        assert_eq!(&get(&c, &t.id), t);
        assert_eq!(ok(block_on(c.resolve(&t.id))), ok(block_on(c_src.resolve(&t.id))));
    }
    assert_eq!(get(&c, GENERAL_ASSISTANT), get(&c_src, GENERAL_ASSISTANT));
    assert_eq!(ids(&ok(block_on(c.versions(&e.a1.id)))), vec![e.a2.id.clone(), e.a1.id.clone()]);
    // Exporting again gives the same bundle.
    assert_eq!(without_exported_at(ok(block_on(c.export_all()))), without_exported_at(e.bundle.clone()));
    // Importing into the store it came from restores the same records.
    let report = ok(block_on(c_src.import_all(e.bundle.clone())));
    assert_eq!(report.templates, 4);
    assert_eq!(mine(&e.fx.snapshot()), mine(&src));
}

fn template_at(bundle: &Value, id: &str) -> usize {
    bundle["workflow_templates"].as_array().unwrap().iter().position(|t| t["id"] == json!(id)).unwrap()
}

/// Replaces a template of the bundle by `f(template)` with its config_hash recomputed, so that
/// only the change made by `f` is wrong.
fn rewrite(bundle: &mut Value, id: &str, f: impl FnOnce(&mut WorkflowTemplate)) {
    let i = template_at(bundle, id);
    let mut t: WorkflowTemplate = serde_json::from_value(bundle["workflow_templates"][i].clone()).unwrap();
    f(&mut t);
    t.config_hash = config_hash(&t.config());
    bundle["workflow_templates"][i] = t.to_value();
}

/// A target store that already holds data, so "writes nothing" is checked against more than
/// an empty store.
fn import_target() -> Fx {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let t = create(&c, "Existing", json!({ "is_public": true }));
    ok(block_on(c.rate(&t.id, 3.0)));
    ok(block_on(c.record_usage(CREATIVE_WRITER, &run(true, 1, 1, 0.0))));
    ok(block_on(c.create_spec(json!({ "name": "Existing spec", "workflow_type": "plain" }))));
    fx
}

#[test]
fn import_refuses_a_tampered_hash_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    let before = target.snapshot();

    let mut bad = e.bundle.clone();
    let i = template_at(&bad, &e.c.id);
    bad["workflow_templates"][i]["config_hash"] = json!("0".repeat(64));
    let err1 = err(block_on(c.import_all(bad)));
    assert_eq!(err1.code(), "VALIDATION_FAILED");
    assert!(violations(&err1).iter().any(|(f, _)| f.starts_with(&format!("workflow_templates[{i}]"))), "{:?}", violations(&err1));
    assert_eq!(target.snapshot(), before);

    // A changed configuration under the old hash is refused the same way.
    let mut bad = e.bundle.clone();
    let i = template_at(&bad, &e.a2.id);
    bad["workflow_templates"][i]["default_params"]["model"]["name"] = json!("tampered");
    assert_eq!(err(block_on(c.import_all(bad))).code(), "VALIDATION_FAILED");
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_dangling_base_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    let before = target.snapshot();
    let mut bad = e.bundle.clone();
    rewrite(&mut bad, &e.b.id, |t| t.base_template_id = Some(MISSING.into()));
    let er = err(block_on(c.import_all(bad)));
    assert!(has_code(&er, "BASE_NOT_FOUND"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);

    // Dropping the base from the bundle leaves its child dangling too.
    let mut bad = e.bundle.clone();
    let i = template_at(&bad, &e.a2.id);
    bad["workflow_templates"].as_array_mut().unwrap().remove(i);
    let er = err(block_on(c.import_all(bad)));
    assert!(has_code(&er, "BASE_NOT_FOUND"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_cycle_inside_the_bundle_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    let before = target.snapshot();
    let mut bad = e.bundle.clone();
    // b -> a2 already; make a2 -> b.
    rewrite(&mut bad, &e.a2.id, |t| t.base_template_id = Some(e.b.id.clone()));
    let er = err(block_on(c.import_all(bad)));
    assert!(has_code(&er, "INHERITANCE_CYCLE"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_name_clash_with_the_target_and_writes_nothing() {
    let e = exported();
    let target = import_target();
    let c = target.cat(U1);
    // A different template named like one of the bundle's latest versions.
    create(&c, "bravo", json!({}));
    let before = target.snapshot();
    let er = err(block_on(c.import_all(e.bundle.clone())));
    assert!(["NAME_TAKEN", "VALIDATION_FAILED"].contains(&er.code()), "{}: {er}", er.code());
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_a_lineage_without_a_latest_version() {
    // SPEC 6: no reader ever sees two latest versions of a template, or none. A bundle whose
    // only version of "Solo" is not latest would leave "Solo" with no latest version.
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    create(&c, "Solo", json!({}));
    let mut bundle = ok(block_on(c.export_all()));
    bundle["workflow_templates"][0]["is_latest"] = json!(false);
    let target = Fx::frozen();
    let before = target.snapshot();
    let r = block_on(target.cat(U1).import_all(bundle));
    assert!(r.is_err(), "a lineage with no latest version was imported");
    assert_eq!(err(r).code(), "VALIDATION_FAILED");
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_does_not_overwrite_builtin_statistics_recorded_by_others() {
    // Usage of built-ins is shared by every user of a store. One user's import (a backup made
    // elsewhere) must not erase the uses other users recorded here (SPEC 8: a catalog acts for
    // one user; SPEC 9: no increment is lost).
    let source = Fx::frozen();
    let c_src = source.cat(U1);
    use_once(&c_src, GENERAL_ASSISTANT);
    let bundle = ok(block_on(c_src.export_all()));

    let target = Fx::frozen();
    let (c1, c2) = (target.cat(U1), target.cat(U2));
    use_once(&c2, GENERAL_ASSISTANT);
    use_once(&c2, GENERAL_ASSISTANT);
    let _ = block_on(c1.import_all(bundle));
    let g = get(&target.cat(U3), GENERAL_ASSISTANT);
    assert!(g.usage_count >= 2, "U2's 2 recorded uses of a built-in were erased by U1's import (usage_count is now {})", g.usage_count);
}

#[test]
fn import_refuses_foreign_records_and_bad_bundles() {
    let e = exported();
    let target = import_target();
    let before = target.snapshot();
    let c2 = target.cat(U2);
    let er = err(block_on(c2.import_all(e.bundle.clone())));
    assert!(has_code(&er, "FORBIDDEN"), "{:?}", violations(&er));
    assert_eq!(target.snapshot(), before);

    let c = target.cat(U1);
    for bad in [
        json!([]),
        json!({ "format_version": 2, "workflow_templates": [] }),
        json!({ "format_version": 1, "workflow_templates": {} }),
        json!({ "format_version": 1, "surprise": 1 }),
        json!({ "format_version": 1, "workflow_templates": [{ "id": "x" }] }),
        json!({ "format_version": 1, "ratings": [{ "template_id": MISSING, "user_id": U1, "stars": 3.0, "updated_at": "2027-01-01T00:00:00.000Z" }] }),
        json!({ "format_version": 1, "ratings": [{ "template_id": GENERAL_ASSISTANT, "user_id": U1, "stars": 7.0, "updated_at": "2027-01-01T00:00:00.000Z" }] }),
        json!({ "format_version": 1, "builtin_stats": [{ "id": MISSING, "rating": null, "rating_count": 0, "usage_count": 0, "success_rate": null, "avg_response_time_ms": null, "last_used_at": null, "total_tokens_used": 0, "total_cost": 0.0, "avg_tokens_per_use": null }] }),
    ] {
        assert_eq!(err(block_on(c.import_all(bad.clone()))).code(), "VALIDATION_FAILED", "{bad}");
        assert_eq!(target.snapshot(), before, "{bad}");
    }
    // A good record beside a bad one is not written either.
    let mut mixed = e.bundle.clone();
    mixed["template_specs"][0]["usage_count"] = json!(-1);
    assert_eq!(err(block_on(c.import_all(mixed))).code(), "VALIDATION_FAILED");
    assert_eq!(target.snapshot(), before);
}

#[test]
fn import_refuses_ids_of_another_users_templates_and_restores_own_ones() {
    let fx = Fx::frozen();
    let theirs = create(&fx.cat(U2), "Theirs", json!({}));
    let c = fx.cat(U1);
    let mine = create(&c, "Mine", json!({}));
    let mut bundle = ok(block_on(c.export_all()));
    // A record of U1's own whose id is U2's template: refused at that index, nothing written.
    let mut forged: WorkflowTemplate = serde_json::from_value(bundle["workflow_templates"][0].clone()).unwrap();
    forged.id = theirs.id.clone();
    forged.name = "Forged".into();
    bundle["workflow_templates"].as_array_mut().unwrap().push(forged.to_value());
    let before = fx.snapshot();
    let e = err(block_on(c.import_all(bundle.clone())));
    assert_eq!(e.code(), "VALIDATION_FAILED");
    let v = violations(&e);
    assert!(v.contains(&("workflow_templates[1].id".to_string(), "DUPLICATE".to_string())), "{v:?}");
    assert_eq!(fx.snapshot(), before);
    // Without it, the bundle restores U1's record over the stored one (guarded by its revision).
    bundle["workflow_templates"].as_array_mut().unwrap().pop();
    ok(block_on(c.update(&mine.id, json!({ "description": "changed after export" }), no_opts())));
    let report = ok(block_on(c.import_all(bundle)));
    assert_eq!(report.templates, 1);
    assert_eq!(get(&c, &mine.id), mine);
    assert_eq!(get(&fx.cat(U2), &theirs.id), theirs);
}

// ---- subscribe -----------------------------------------------------------------------------

#[test]
fn subscribe_and_unsubscribe() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let events: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let e2 = events.clone();
    let h = c.subscribe(move |e| e2.borrow_mut().push(e.clone()));
    let other: Rc<Cell<usize>> = Rc::default();
    let o2 = other.clone();
    let h2 = c.subscribe(move |_| o2.set(o2.get() + 1));
    assert_ne!(h, h2);

    let t = create(&c, "Watched", json!({}));
    ok(block_on(c.update(&t.id, json!({ "description": "x" }), no_opts())));
    let _ = err(block_on(c.create(draft("watched", json!({})))));
    let _ = err(block_on(c.update(&t.id, json!({ "version": 3 }), no_opts())));
    ok(block_on(c.delete(&t.id)));
    let ev = |kind: &str, op: &str, id: &str| (kind.to_string(), op.to_string(), Some(id.to_string()));
    let got: Vec<(String, String, Option<String>)> = events.borrow().iter().map(|e| (e.kind.to_string(), e.op.to_string(), e.id.clone())).collect();
    assert_eq!(got, vec![ev("template", "create", &t.id), ev("template", "update", &t.id), ev("template", "delete", &t.id)], "failed writes emit nothing");
    assert_eq!(other.get(), 3);

    assert!(c.unsubscribe(h));
    assert!(!c.unsubscribe(h));
    create(&c, "After", json!({}));
    assert_eq!(events.borrow().len(), 3, "no event after unsubscribe");
    assert_eq!(other.get(), 4, "the other subscriber still hears");
    assert!(c.unsubscribe(h2));
    create(&c, "After 2", json!({}));
    assert_eq!(other.get(), 4);
}

#[test]
fn subscribe_sees_versions_usage_ratings_specs_and_imports() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let events: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let e2 = events.clone();
    c.subscribe(move |e| e2.borrow_mut().push(e.clone()));
    let t = create(&c, "V", json!({}));
    let v2 = ok(block_on(c.new_version(&t.id, json!({}), None, no_opts())));
    use_once(&c, &v2.id);
    ok(block_on(c.rate(&v2.id, 3.0)));
    let s = ok(block_on(c.create_spec(json!({ "name": "S", "workflow_type": "plain" }))));
    let made = ok(block_on(c.instantiate_spec(&s.id, Value::Null)));
    let bundle = ok(block_on(c.export_all()));
    ok(block_on(c.import_all(bundle)));
    // Deleting the latest version also announces the promoted one.
    ok(block_on(c.delete(&v2.id)));
    let got: Vec<(&str, &str, Option<String>)> = events.borrow().iter().map(|e| (e.kind, e.op, e.id.clone())).collect();
    let s_ = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            ("template", "create", s_(&t.id)),
            ("template", "create", s_(&v2.id)),
            ("template", "update", s_(&t.id)),
            ("usage", "update", s_(&v2.id)),
            ("rating", "update", s_(&v2.id)),
            ("spec", "create", s_(&s.id)),
            ("template", "create", s_(&made.id)),
            ("spec", "update", s_(&s.id)),
            ("import", "import", None),
            ("template", "delete", s_(&v2.id)),
            ("template", "update", s_(&t.id)),
        ]
    );
}

// ---- preview: resolve of an unsaved draft -------------------------------------------------------

#[test]
fn preview_of_a_draft_equals_resolve_after_saving_it_and_writes_nothing() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let base = create(&c, "Base", json!({ "workflow_type": "rag", "required_retrievers": ["docs"], "default_params": { "model": { "name": "m", "temperature": 0.7 }, "drop": 1 } }));
    let d = draft("Child", json!({ "workflow_type": "rag", "base_template_id": base.id.to_lowercase(), "default_params": { "model": { "temperature": 0.1 }, "drop": null } }));
    let before = fx.snapshot();
    let p = ok(block_on(c.preview(d.clone(), None)));
    assert_eq!(fx.snapshot(), before, "a preview writes nothing");
    let saved = ok(block_on(c.create(d)));
    let r = ok(block_on(c.resolve(&saved.id)));
    assert_eq!((&p.effective, &p.resolved_hash), (&r.effective, &r.resolved_hash));
    assert_eq!(p.chain.len(), 2);
    assert_eq!(p.provenance.get("/model/name"), Some(&base.id));
    assert_eq!(p.provenance.get("/model/temperature"), Some(&p.id), "the draft supplies its own keys");
    assert!(!p.provenance.contains_key("/drop"));
    // Without a base it is the draft alone: its resolved hash is its config hash.
    let alone = ok(block_on(c.preview(json!({ "workflow_type": "plain", "default_params": { "a": 1 } }), None)));
    assert_eq!(alone.chain.len(), 1);
    let hashed = ok(workflow_templates::catalog::config_hash_of_value(json!({ "workflow_type": "plain", "default_params": { "a": 1 } })));
    assert_eq!(alone.resolved_hash, hashed);
}

#[test]
fn preview_reports_what_a_save_would_refuse() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let other = fx.cat(U2);
    let a = create(&c, "A", json!({}));
    let b = create(&c, "B", json!({ "base_template_id": a.id }));
    // Editing A to derive from B closes a cycle.
    let e = err(block_on(c.preview(json!({ "base_template_id": b.id }), Some(&a.id))));
    assert_eq!(e.code(), "INHERITANCE_CYCLE", "{e:?}");
    let secret = create(&other, "Secret", json!({ "is_public": false }));
    assert_eq!(err(block_on(c.preview(json!({ "base_template_id": secret.id }), None))).code(), "BASE_NOT_FOUND");
    let e = err(block_on(c.preview(json!({ "default_params": [1] }), None)));
    assert!(has_violation(&e, "default_params", "TYPE"), "{e:?}");
    // Non-configuration fields are not its business (the form validates them).
    ok(block_on(c.preview(json!({ "name": "", "workflow_type": "plain" }), None)));
    // Editing someone else's template is not previewed.
    assert_eq!(err(block_on(other.preview(json!({}), Some(&a.id)))).code(), "NOT_FOUND");
}

#[test]
fn recent_orders_by_instant_whatever_the_offset() {
    use workflow_templates::catalog::discover::order;
    let mut a = WorkflowTemplate::with_defaults("01ARZ3NDEKTSV4RRFFQ69G5FA1".into(), U1.into(), "2025-01-01T10:00:00+05:00".into());
    let mut b = WorkflowTemplate::with_defaults("01ARZ3NDEKTSV4RRFFQ69G5FA2".into(), U1.into(), "2025-01-01T06:00:00.000Z".into());
    // a is 05:00Z, b is 06:00Z: b is more recent although "10:00" sorts after "06:00" as text.
    assert_eq!(order(Sort::Recent, &b, &a), std::cmp::Ordering::Less);
    // The same instant written twice ties on time and falls back to id (descending).
    a.updated_at = "2025-01-01T06:00:00Z".into();
    b.updated_at = "2025-01-01T06:00:00.000Z".into();
    assert_eq!(order(Sort::Recent, &b, &a), std::cmp::Ordering::Less);
}
