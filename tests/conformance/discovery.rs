//! Discovery as a query (issue 13): every filter and sort, alone and combined, for two users,
//! equals a full scan through SPEC section 11's rules written out here (an adapter may answer
//! pages natively, as the reference server does in SQL).

use super::*;
use workflow_templates::catalog::discover::order;
use workflow_templates::model::id::BUILTIN_OWNER;

/// The full scan: every template the viewer may see (`pool`: their own, all versions; others'
/// public ones; the built-ins), filtered and sorted by the rules, then sliced.
fn expected(pool: &[WorkflowTemplate], o: &DiscoverOptions) -> Vec<String> {
    let text = o.text.as_ref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty());
    let mut want: Vec<&WorkflowTemplate> = pool
        .iter()
        .filter(|t| {
            (if t.is_builtin { o.include_builtin && o.owner.as_deref().is_none_or(|x| x == BUILTIN_OWNER) } else { o.owner.as_deref().is_none_or(|x| x == t.owner_id) })
                && (t.is_builtin || !o.latest_only || t.is_latest)
                && o.category.is_none_or(|c| c == t.category)
                && o.workflow_type.is_none_or(|w| w == t.workflow_type)
                && text.as_ref().is_none_or(|q| t.name.to_lowercase().contains(q.as_str()) || t.description.to_lowercase().contains(q.as_str()))
                && o.tags.iter().all(|w| t.tags.iter().flatten().any(|h| h.to_lowercase() == *w))
        })
        .collect();
    want.sort_by(|a, b| order(o.sort, a, b));
    want.into_iter().map(|t| t.id.clone()).collect()
}

pub async fn discovery_queries_match_a_full_scan<H: Harness>(h: &H) {
    let c1 = catalog(h, h.fresh().await, U1).await;
    let c2 = catalog(h, h.again().await, U2).await;
    // (owner, name, description, public, category, tools?, tags)
    let rows: &[(u8, &str, &str, bool, &str, bool, &[&str])] = &[
        (1, "Émile's Résumé", "Writes a CV for ÉMILE", true, "programming", false, &["CV", "Ünï"]),
        (1, "STRASSE planner", "plans routes", true, "research", true, &["t", "N1"]),
        (2, "Straße helper", "Straße routes", true, "research", false, &["t", "n2"]),
        (1, "İstanbul guide", "dotted capital I", true, "general", false, &["t"]),
        (2, "istanbul lower", "plain i", false, "general", true, &["ünï"]),
        (1, "Rocket 🚀 launch", "emoji 🚀🚀 here", true, "creative", false, &["N1", "n2"]),
        (2, "100% sure", "percent_sign and under_score", true, "business", true, &["t", "n1"]),
        (1, "back\\slash", "a quote \" inside", false, "programming", true, &["n1"]),
        (2, "ΣΑΣ greek", "ΟΔΟΣ final sigma", true, "educational", false, &[]),
        (1, "Same", "tie on name", true, "custom", false, &["t"]),
        (2, "same", "tie on name", true, "custom", false, &["t"]),
        (1, "private tie", "an item of mine", false, "custom", false, &["t", "n1"]),
        (2, "hidden from U1", "an item of theirs", false, "programming", false, &["t", "n1"]),
        (1, "Assistant clone", "like the general assistant", true, "general", false, &[]),
    ];
    let mut ids = Vec::new();
    for (i, (owner, name, desc, public, cat, tools, tags)) in rows.iter().enumerate() {
        let c = if *owner == 1 { &c1 } else { &c2 };
        let mut extra = json!({ "description": desc, "is_public": public, "category": cat, "tags": tags });
        if *tools {
            extra["workflow_type"] = json!("tools");
            extra["required_tools"] = json!(["web_search"]);
        }
        let t = ok(c.create(draft(name, extra)).await);
        // Usage and ratings make ties and orders on every sort.
        for _ in 0..(i % 3) {
            ok(c.record_usage(&t.id, &UsageRun::from_value(&json!({ "success": true, "responseTimeMs": 1 })).unwrap()).await);
        }
        if i % 4 != 0 && *public {
            ok(c1.rate(&t.id, (i % 3) as f64 + 2.0).await);
        }
        ids.push(t.id);
    }
    // Versions: latestOnly false shows the older ones.
    for i in [1, 2, 9] {
        let c = if rows[i].0 == 1 { &c1 } else { &c2 };
        let newer = ok(c.new_version(&ids[i], json!({}), None, WriteOptions::default()).await);
        ids.push(newer.id);
    }
    let sorts = [Sort::Popular, Sort::Rating, Sort::Recent, Sort::Name];
    let texts = ["é", "ÉMILE", "straße", "STRASSE", "ß", "İ", "i\u{307}stanbul", "istanbul", "🚀", "🚀 l", "%", "_", "\\", "\"", "ΣΑΣ", "σας", "  item  ", "assist", "an", "zzz none"];
    let tag_sets: &[&[&str]] = &[&["t"], &["n1"], &["t", "n2"], &["ünï"], &["cv", "ünï"], &["missing"]];
    let mut shapes: Vec<DiscoverOptions> = vec![DiscoverOptions::default()];
    shapes.extend(texts.iter().map(|t| DiscoverOptions { text: Some(t.to_string()), ..Default::default() }));
    shapes.extend(tag_sets.iter().map(|t| DiscoverOptions { tags: t.iter().map(|x| x.to_string()).collect(), ..Default::default() }));
    shapes.push(DiscoverOptions { category: Some(TemplateCategory::Programming), ..Default::default() });
    shapes.push(DiscoverOptions { workflow_type: Some(WorkflowType::Tools), ..Default::default() });
    for owner in [U1, U2, BUILTIN_OWNER] {
        shapes.push(DiscoverOptions { owner: Some(owner.into()), ..Default::default() });
    }
    shapes.push(DiscoverOptions { text: Some("an".into()), tags: vec!["t".into()], category: Some(TemplateCategory::Custom), ..Default::default() });
    shapes.push(DiscoverOptions { text: Some("i".into()), workflow_type: Some(WorkflowType::Plain), owner: Some(U2.into()), ..Default::default() });
    shapes.push(DiscoverOptions { tags: vec!["n1".into()], workflow_type: Some(WorkflowType::Tools), ..Default::default() });
    shapes.push(DiscoverOptions { category: Some(TemplateCategory::General), text: Some("assistant".into()), ..Default::default() });
    for (viewer, c) in [(U1, &c1), (U2, &c2)] {
        // What this viewer may see, read one by one (the full scan's input).
        let mut pool = Vec::new();
        for id in &ids {
            if let Ok(t) = c.get(id).await {
                assert!(t.is_public || t.owner_id == viewer, "get showed another user's private template");
                pool.push(t);
            }
        }
        for b in workflow_templates::builtin::all() {
            pool.push(ok(c.get(&b.id).await));
        }
        for shape in &shapes {
            for sort in sorts {
                for (latest_only, include_builtin) in [(true, true), (true, false), (false, true), (false, false)] {
                    let o = DiscoverOptions { sort, latest_only, include_builtin, limit: 100, ..shape.clone() };
                    let want = expected(&pool, &o);
                    let p = ok(c.discover(&o).await);
                    let got: Vec<String> = p.items.iter().map(|t| t.id.clone()).collect();
                    assert_eq!((got, p.total), (want.clone(), want.len()), "viewer {viewer}, {o:?}");
                    // A slice from the middle: built-ins and stored rows merged at any offset.
                    if want.len() > 3 {
                        let p = ok(c.discover(&DiscoverOptions { offset: 3, limit: 4, ..o.clone() }).await);
                        let got: Vec<String> = p.items.into_iter().map(|t| t.id).collect();
                        let slice: Vec<String> = want.iter().skip(3).take(4).cloned().collect();
                        assert_eq!(got, slice, "viewer {viewer}, offset 3 limit 4, {o:?}");
                    }
                }
            }
        }
        // Every page boundary of the unfiltered list, built-ins mixed in.
        for sort in sorts {
            let o = DiscoverOptions { sort, latest_only: false, limit: 100, ..Default::default() };
            let want = expected(&pool, &o);
            for limit in [1, 3] {
                let mut got = Vec::new();
                let mut offset = 0;
                while offset < want.len() {
                    let p = ok(c.discover(&DiscoverOptions { limit, offset: offset as u64, ..o.clone() }).await);
                    assert_eq!(p.total, want.len(), "viewer {viewer}, {sort:?}");
                    got.extend(p.items.into_iter().map(|t| t.id));
                    offset += limit;
                }
                assert_eq!(got, want, "viewer {viewer}, paged by {limit}, {sort:?}");
            }
        }
    }
}
