//! Templates (SPEC sections 5-7): create, get and visibility, update, versions and diff, delete.
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use support::*;
use workflow_templates::builtin;
use workflow_templates::catalog::Catalog;
use workflow_templates::hash::config_hash;
use workflow_templates::model::time::format_ms;
use workflow_templates::store::Store;
use workflow_templates::{Error, TemplateCategory, WorkflowType};

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

