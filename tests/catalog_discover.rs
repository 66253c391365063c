//! Discovery (SPEC section 8): sorts, filters, privacy, paging, options, popularByCategory.
//!
//! The harness is tests/support: `block_on` polls once (the memory store never waits), the
//! fixture's clock moves only when a test sets or advances it (`Fx::frozen`), and `Shared` lets
//! several catalogs share one `MemoryStore` and runs a hook right before the next commit — which
//! is how the tests interleave a second writer between another writer's read and its commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::*;
use workflow_templates::builtin;
use workflow_templates::catalog::{DiscoverOptions, Sort};
use workflow_templates::model::id::BUILTIN_OWNER;
use workflow_templates::{TemplateCategory, WorkflowTemplate, WorkflowType};

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

