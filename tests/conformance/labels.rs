//! Labels (SPEC section 6, issue 14) on every adapter: the `template_labels` rows themselves
//! (conditional writes, all-or-nothing batches, lookups by owner and lineage, a new handle) and
//! the catalog behaviours that depend on the adapter (delete protection, rename, restore,
//! fetch by name, events in other tabs).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;
use workflow_templates::catalog::{ByName, ChangeEvent, WriteOptions};
use workflow_templates::store::{Expect, Store, TemplateLabel, Write};

use super::{catalog, code, draft, ok, put, template, Harness, U1, U2};

fn label(owner: &str, name_key: &str, label: &str, template_id: &str) -> TemplateLabel {
    TemplateLabel {
        owner_id: owner.into(),
        name_key: name_key.into(),
        label: label.into(),
        template_id: template_id.into(),
        version: 1,
        updated_at: "2026-01-01T00:00:00.000Z".into(),
    }
}

pub async fn label_rows_are_guarded_and_found_by_lineage<H: Harness>(h: &H) {
    let s = h.fresh().await;
    let t = template(60, U1, "Lineage: one");
    let u = template(61, U1, "Other");
    let w = template(62, U2, "Lineage: one");
    ok(s.commit(vec![put(&t, Expect::Absent), put(&u, Expect::Absent), put(&w, Expect::Absent)]).await);
    // Name keys may hold ':' and the label key stays unambiguous.
    let prod = label(U1, "lineage: one", "production", &t.id);
    ok(s.commit(vec![
        Write::PutLabel { record: prod.clone(), expect: Expect::Absent },
        Write::PutLabel { record: label(U1, "lineage: one", "staging", &t.id), expect: Expect::Absent },
        Write::PutLabel { record: label(U1, "other", "production", &u.id), expect: Expect::Absent },
        Write::PutLabel { record: label(U2, "lineage: one", "production", &w.id), expect: Expect::Absent },
    ])
    .await);
    let mut mine: Vec<String> = ok(s.find_labels(U1, Some("lineage: one")).await).into_iter().map(|l| l.record.label).collect();
    mine.sort();
    assert_eq!(mine, vec!["production", "staging"]);
    assert_eq!(ok(s.find_labels(U1, None).await).len(), 3);
    assert_eq!(ok(s.find_labels(U2, None).await).len(), 1);
    assert_eq!(ok(s.find_labels(U1, Some("nothing")).await).len(), 0);
    // A second create of the same row conflicts; a move needs the current revision.
    assert_eq!(code(s.commit(vec![Write::PutLabel { record: prod.clone(), expect: Expect::Absent }]).await), "CONFLICT");
    let stored = ok(s.find_labels(U1, Some("lineage: one")).await).into_iter().find(|l| l.record.label == "production").unwrap();
    assert_eq!(stored.rev, 1);
    assert_eq!(stored.record, prod);
    let mut moved = prod.clone();
    moved.template_id = u.id.clone();
    assert_eq!(code(s.commit(vec![Write::PutLabel { record: moved.clone(), expect: Expect::Rev(7) }]).await), "CONFLICT");
    // All or nothing: a failing write after a label write leaves the label as it was.
    assert_eq!(code(s.commit(vec![Write::PutLabel { record: moved.clone(), expect: Expect::Rev(1) }, put(&t, Expect::Absent)]).await), "CONFLICT");
    assert_eq!(ok(s.find_labels(U1, Some("lineage: one")).await).into_iter().find(|l| l.record.label == "production").unwrap().record, prod);
    ok(s.commit(vec![Write::PutLabel { record: moved.clone(), expect: Expect::Rev(1) }]).await);
    // Another handle (tab, reopened page) sees it; delete is guarded too.
    let again = h.again().await;
    let row = ok(again.find_labels(U1, Some("lineage: one")).await).into_iter().find(|l| l.record.label == "production").unwrap();
    assert_eq!((row.rev, row.record.template_id.clone()), (2, u.id.clone()));
    assert_eq!(code(again.commit(vec![Write::DeleteLabel { key: prod.key(), expect: Expect::Rev(1) }]).await), "CONFLICT");
    ok(again.commit(vec![Write::DeleteLabel { key: prod.key(), expect: Expect::Rev(2) }]).await);
    assert_eq!(ok(s.find_labels(U1, Some("lineage: one")).await).len(), 1);
}

pub async fn labels_through_the_catalog<H: Harness>(h: &H) {
    let a = catalog(h, h.fresh().await, U1).await;
    let b = catalog(h, h.again().await, U1).await;
    let heard: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let hb = heard.clone();
    b.subscribe(move |e| hb.borrow_mut().push(e.clone()));
    let t1 = ok(a.create(draft("Support bot", json!({ "default_params": { "v": 1 } }))).await);
    let t2 = ok(a.new_version(&t1.id, json!({ "default_params": { "v": 2 } }), None, WriteOptions::default()).await);
    let l = ok(a.set_label(&t1.id, "production", WriteOptions::default()).await);
    // Another tab moves it; the first tab's ifMatch is stale.
    ok(b.set_label(&t2.id, "production", WriteOptions { if_match: Some(l.updated_at.clone()) }).await);
    assert_eq!(code(a.set_label(&t1.id, "production", WriteOptions { if_match: Some(l.updated_at.clone()) }).await), "CONFLICT");
    ok(a.set_label(&t1.id, "canary", WriteOptions::default()).await);
    assert_eq!(code(a.delete(&t1.id).await), "HAS_LABELS");
    assert_eq!(code(b.delete(&t2.id).await), "HAS_LABELS");
    assert_eq!(ok(b.get_by_name("support bot", &ByName { label: Some("production".into()), ..Default::default() }).await).id, t2.id);
    assert_eq!(ok(b.get_by_name("support bot", &ByName { version: Some(1), ..Default::default() }).await).id, t1.id);
    let r = ok(a.restore_version(&t1.id, None, WriteOptions::default()).await);
    assert_eq!((r.version, r.config_hash.clone()), (3, t1.config_hash.clone()));
    assert_eq!(ok(b.resolve_by_name("Support bot", &ByName::default()).await).id, r.id);
    ok(a.update(&r.id, json!({ "name": "Helpdesk bot" }), WriteOptions::default()).await);
    let listed: Vec<(String, String)> = ok(b.labels(&r.id).await).into_iter().map(|l| (l.label, l.template_id)).collect();
    assert_eq!(listed, vec![("canary".to_string(), t1.id.clone()), ("production".to_string(), t2.id.clone())]);
    let versions = ok(b.versions_with_labels(&r.id).await);
    assert_eq!(versions.iter().map(|v| v.labels.len()).collect::<Vec<_>>(), vec![0, 1, 1]);
    // Export, then import into a fresh storage: the labels come along.
    let bundle = ok(a.export_all().await);
    let c = catalog(h, h.fresh().await, U1).await;
    assert_eq!(ok(c.import_all(bundle).await).labels, 2);
    assert_eq!(ok(c.labels(&r.id).await).len(), 2);
    h.pause(300).await;
    if h.cross_tab() {
        let external: Vec<(&str, &str, Option<String>)> = heard.borrow().iter().filter(|e| e.external && e.kind == "label").map(|e| (e.kind, e.op, e.id.clone())).collect();
        assert_eq!(external, vec![("label", "create", Some(t1.id.clone())), ("label", "create", Some(t1.id.clone()))]);
    }
}
