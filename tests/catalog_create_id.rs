//! Creates with a client-chosen id (issue 15, the `_as` forms an offline replica replays):
//! `create_as`, `new_version_as`, `restore_version_as`, `create_spec_as`, `instantiate_spec_as`.
//! The id must be a ULID that is not reserved for built-ins and not more than 5 minutes ahead of
//! the catalog's clock; the owner's own record of the same kind under that id is a replay
//! (answered unchanged, nothing written); any other record under it is one uniform CONFLICT.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use support::*;
use ulid::Ulid;
use workflow_templates::catalog::ChangeEvent;
use workflow_templates::{Error, TemplateSpec, WorkflowTemplate};

/// A ULID whose time part is `ms` (randomness fixed by `r`).
fn id_at(ms: i64, r: u128) -> String {
    Ulid::from_parts(ms as u64, r).to_string()
}

fn fresh(r: u128) -> String {
    id_at(T0 - 60_000, r)
}

fn spec_draft(name: &str) -> Value {
    json!({ "name": name, "workflow_type": "plain", "description": "s" })
}

fn events_of(c: &Cat) -> Rc<RefCell<Vec<ChangeEvent>>> {
    let ev: Rc<RefCell<Vec<ChangeEvent>>> = Rc::default();
    let e2 = ev.clone();
    c.subscribe(move |e| e2.borrow_mut().push(e.clone()));
    ev
}

/// The one answer every "id taken" case gives, whoever holds the id.
fn assert_taken<T: std::fmt::Debug>(r: workflow_templates::Result<T>, id: &str) -> Error {
    let e = err(r);
    assert_eq!(e.code(), "CONFLICT", "{e}");
    assert_eq!(e.details(), json!({ "id": id, "expected": "absent", "actual": "in use" }), "{e}");
    e
}

// ---- create_as -------------------------------------------------------------------------------

#[test]
fn create_as_uses_the_given_id_normalised() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let id = fresh(1);
    let t = ok(block_on(c.create_as(Some(&id.to_lowercase()), draft("Chosen", json!({})))));
    assert_eq!(t.id, id);
    assert_eq!(fx.stored(&id).unwrap().record, t);
    // The timestamps are the catalog's clock, not the id's time part.
    assert_eq!(t.created_at, workflow_templates::model::time::format_ms(T0));
    // None is the plain create: a fresh id.
    let u = ok(block_on(c.create_as(None, draft("Other", json!({})))));
    assert_ne!(u.id, id);
    assert_eq!(u.id.len(), 26);
}

#[test]
fn create_as_replay_answers_the_stored_record_and_writes_nothing() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let id = fresh(2);
    let first = ok(block_on(c.create_as(Some(&id), draft("Once", json!({ "description": "a" })))));
    // Edited since (the replay answers what is stored now, not the draft).
    fx.tick();
    let edited = ok(block_on(c.update(&id, json!({ "description": "b" }), no_opts())));
    let ev = events_of(&c);
    let before = fx.snapshot();
    let commits = c.store().commits.get();
    // The same draft again (its name is now taken by the record itself), a different draft, an
    // invalid one: all a replay.
    for d in [draft("Once", json!({ "description": "a" })), draft("Else", json!({})), json!({ "name": 5 })] {
        let again = ok(block_on(c.create_as(Some(&id.to_lowercase()), d)));
        assert_eq!(again, edited);
    }
    assert_ne!(first.updated_at, edited.updated_at);
    assert_eq!(fx.snapshot(), before, "a replay writes nothing");
    assert_eq!(c.store().commits.get(), commits, "a replay commits nothing");
    assert!(ev.borrow().is_empty(), "a replay changes nothing, so it tells nobody: {:?}", ev.borrow());
    assert_eq!(fx.latest_count(U1, "Once"), 1);
}

#[test]
fn another_users_id_is_one_uniform_conflict_that_reveals_nothing() {
    let fx = Fx::frozen();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let private_id = fresh(3);
    let public_id = fresh(4);
    let spec_id = fresh(5);
    ok(block_on(a.create_as(Some(&private_id), draft("Secret plan", json!({ "description": "hidden words" })))));
    ok(block_on(a.create_as(Some(&public_id), draft("Shared plan", json!({ "is_public": true })))));
    ok(block_on(a.create_spec_as(Some(&spec_id), spec_draft("Secret spec"))));
    let before = fx.snapshot();
    let mut said = Vec::new();
    for id in [&private_id, &public_id, &spec_id] {
        let e1 = assert_taken(block_on(b.create_as(Some(id), draft("Mine", json!({})))), id);
        let e2 = assert_taken(block_on(b.create_spec_as(Some(id), spec_draft("Mine"))), id);
        for e in [&e1, &e2] {
            let text = everything_said(e);
            for secret in ["Secret", "Shared", "hidden", U1] {
                assert!(!text.contains(secret), "{text}");
            }
        }
        // The same words whatever holds the id (private, public, a spec), once the id is masked.
        said.push(everything_said(&e1).replace(id.as_str(), "ID"));
        said.push(everything_said(&e2).replace(id.as_str(), "ID"));
    }
    assert!(said.windows(2).all(|w| w[0] == w[1]), "{said:#?}");
    assert_eq!(fx.snapshot(), before);
    assert_eq!(fx.latest_count(U2, "Mine"), 0);
}

#[test]
fn own_record_of_the_other_kind_is_the_same_conflict() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let (tid, sid) = (fresh(6), fresh(7));
    let t = ok(block_on(c.create_as(Some(&tid), draft("T", json!({})))));
    let s = ok(block_on(c.create_spec_as(Some(&sid), spec_draft("S"))));
    assert_taken(block_on(c.create_spec_as(Some(&tid), spec_draft("S2"))), &tid);
    assert_taken(block_on(c.create_as(Some(&sid), draft("T2", json!({})))), &sid);
    assert_taken(block_on(c.new_version_as(Some(&sid), &t.id, json!({}), None, no_opts())), &sid);
    assert_taken(block_on(c.instantiate_spec_as(Some(&sid), &s.id, json!({ "name": "T3" }))), &sid);
    assert_eq!(fx.latest_count(U1, "T2"), 0);
    assert_eq!(ok(block_on(c.get_spec(&s.id))).usage_count, 0);
}

#[test]
fn malformed_reserved_and_future_ids_are_invalid_argument() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let ahead = 5 * 60 * 1000;
    let bad: Vec<String> = vec![
        "".into(),
        "x".into(),
        "01ARZ3NDEKTSV4RRFFQ69G5FA".into(),
        "01ARZ3NDEKTSV4RRFFQ69G5FAVV".into(),
        "81ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        "01ARZ3NDEKTSV4RRFFQ69G5FAU".into(),
        " 01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        // Built-ins, their owner id, and the whole time-0 range they live in.
        GENERAL_ASSISTANT.into(),
        DOCUMENT_QA.to_lowercase(),
        "00000000000000000000000000".into(),
        "0000000000ZZZZZZZZZZZZZZZZ".into(),
        // Ahead of the clock by more than 5 minutes (client clocks are not trusted).
        id_at(T0 + ahead + 1, 9),
        id_at(T0 + 365 * 24 * 3600 * 1000, 9),
        "7ZZZZZZZZZZZZZZZZZZZZZZZZZ".into(),
    ];
    let s = ok(block_on(c.create_spec(spec_draft("S"))));
    let t = create(&c, "T", json!({}));
    let before = fx.snapshot();
    for id in &bad {
        let outcomes: Vec<Error> = vec![
            err(block_on(c.create_as(Some(id), draft("N", json!({}))))),
            err(block_on(c.create_spec_as(Some(id), spec_draft("N")))),
            err(block_on(c.new_version_as(Some(id), &t.id, json!({}), None, no_opts()))),
            err(block_on(c.restore_version_as(Some(id), &t.id, None, no_opts()))),
            err(block_on(c.instantiate_spec_as(Some(id), &s.id, json!({ "name": "N" })))),
        ];
        for e in outcomes {
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{id:?}: {e}");
        }
    }
    assert_eq!(fx.snapshot(), before);
    // Exactly 5 minutes ahead is accepted, and so is an old id (writes made offline long ago).
    ok(block_on(c.create_as(Some(&id_at(T0 + ahead, 1)), draft("Edge", json!({})))));
    ok(block_on(c.create_as(Some(&id_at(1_500_000_000_000, 1)), draft("Old", json!({})))));
}

#[test]
fn a_twin_that_commits_first_turns_the_create_into_a_replay() {
    let fx = Fx::frozen();
    let tab1 = fx.cat(U1);
    let tab2 = Rc::new(fx.cat(U1));
    let id = fresh(10);
    let won: Rc<RefCell<Option<WorkflowTemplate>>> = Rc::default();
    let (t2, w2, id2) = (tab2.clone(), won.clone(), id.clone());
    tab1.store().before_next_commit(move || {
        *w2.borrow_mut() = Some(ok(block_on(t2.create_as(Some(&id2), draft("Twin", json!({}))))));
    });
    let got = ok(block_on(tab1.create_as(Some(&id), draft("Twin", json!({})))));
    assert_eq!(Some(got), won.borrow().clone());
    assert_eq!(fx.latest_count(U1, "Twin"), 1);
}

#[test]
fn another_user_winning_the_race_is_the_uniform_conflict() {
    let fx = Fx::frozen();
    let mine = fx.cat(U1);
    let theirs = Rc::new(fx.cat(U2));
    let id = fresh(11);
    let (t2, id2) = (theirs.clone(), id.clone());
    mine.store().before_next_commit(move || {
        ok(block_on(t2.create_as(Some(&id2), draft("Theirs", json!({ "is_public": true })))));
    });
    assert_taken(block_on(mine.create_as(Some(&id), draft("Mine", json!({})))), &id);
    assert_eq!(fx.latest_count(U1, "Mine"), 0);
}

// ---- new_version_as / restore_version_as ---------------------------------------------------

#[test]
fn new_version_as_and_its_replay() {
    let fx = Fx::new();
    let c = fx.cat(U1);
    let v1 = create(&c, "Lineage", json!({}));
    let id = fresh(20);
    let v2 = ok(block_on(c.new_version_as(Some(&id), &v1.id, json!({ "description": "two" }), Some("c".into()), no_opts())));
    assert_eq!((v2.id.as_str(), v2.version), (id.as_str(), 2));
    let before = fx.snapshot();
    // v1 is no longer the latest and an If-Match that no longer holds: still a replay.
    let again = ok(block_on(c.new_version_as(Some(&id), &v1.id, json!({ "description": "two" }), Some("c".into()), if_match("2020-01-01T00:00:00.000Z"))));
    assert_eq!(again, v2);
    assert_eq!(fx.snapshot(), before);
    // Another user's id in a new version of my template: the uniform conflict.
    let other = fx.cat(U2);
    let theirs = create(&other, "Theirs", json!({}));
    assert_taken(block_on(c.new_version_as(Some(&theirs.id), &v2.id, json!({}), None, no_opts())), &theirs.id);
    assert_eq!(fx.snapshot().templates.len(), before.templates.len() + 1);
}

#[test]
fn restore_version_as_and_its_replay() {
    let fx = Fx::new();
    let c = fx.cat(U1);
    let v1 = create(&c, "Rollback", json!({ "description": "one" }));
    let v2 = ok(block_on(c.new_version(&v1.id, json!({ "description": "two" }), None, no_opts())));
    let id = fresh(21);
    let v3 = ok(block_on(c.restore_version_as(Some(&id), &v1.id, None, no_opts())));
    assert_eq!((v3.id.as_str(), v3.version, v3.description.as_str()), (id.as_str(), 3, "one"));
    assert!(!ok(block_on(c.get(&v2.id))).is_latest);
    let before = fx.snapshot();
    assert_eq!(ok(block_on(c.restore_version_as(Some(&id), &v1.id, None, no_opts()))), v3);
    assert_eq!(fx.snapshot(), before);
}

// ---- specs -----------------------------------------------------------------------------------

#[test]
fn create_spec_as_and_its_replay() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let id = fresh(30);
    let s: TemplateSpec = ok(block_on(c.create_spec_as(Some(&id.to_lowercase()), spec_draft("Recipe"))));
    assert_eq!(s.id, id);
    let before = fx.snapshot();
    assert_eq!(ok(block_on(c.create_spec_as(Some(&id), json!("not even an object")))), s);
    assert_eq!(fx.snapshot(), before);
    assert_eq!(ok(block_on(c.list_specs())).len(), 1);
}

#[test]
fn instantiate_spec_as_counts_the_use_once() {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let s = ok(block_on(c.create_spec(spec_draft("From spec"))));
    let id = fresh(31);
    let t = ok(block_on(c.instantiate_spec_as(Some(&id), &s.id, json!({}))));
    assert_eq!(t.id, id);
    let before = fx.snapshot();
    assert_eq!(ok(block_on(c.instantiate_spec_as(Some(&id), &s.id, json!({})))), t);
    assert_eq!(fx.snapshot(), before);
    assert_eq!(ok(block_on(c.get_spec(&s.id))).usage_count, 1);
    // Another user cannot instantiate my spec with any id: NOT_FOUND as before, not a replay.
    let other = fx.cat(U2);
    assert_eq!(err(block_on(other.instantiate_spec_as(Some(&fresh(32)), &s.id, json!({})))).code(), "NOT_FOUND");
    // ...and their replay of my template's id under their own spec is the uniform conflict.
    let their_spec = ok(block_on(other.create_spec(spec_draft("Theirs"))));
    assert_taken(block_on(other.instantiate_spec_as(Some(&id), &their_spec.id, json!({}))), &id);
}

#[test]
fn another_user_taking_a_new_versions_id_mid_retry_is_final_not_busy() {
    let fx = Fx::frozen();
    let mine = fx.cat(U1);
    let v1 = create(&mine, "Mine", json!({}));
    let theirs = Rc::new(fx.cat(U2));
    let id = fresh(12);
    let (t2, id2) = (theirs.clone(), id.clone());
    mine.store().before_next_commit(move || {
        ok(block_on(t2.create_as(Some(&id2), draft("Theirs", json!({})))));
    });
    assert_taken(block_on(mine.new_version_as(Some(&id), &v1.id, json!({}), None, no_opts())), &id);
    assert!(get(&mine, &v1.id).is_latest, "nothing of mine was written");
}

#[test]
fn replay_lookups_answer_as_the_creates_would() {
    let fx = Fx::frozen();
    let (a, b) = (fx.cat(U1), fx.cat(U2));
    let (tid, sid, free) = (fresh(40), fresh(41), fresh(42));
    let t = ok(block_on(a.create_as(Some(&tid), draft("Mine", json!({})))));
    let s = ok(block_on(a.create_spec_as(Some(&sid), spec_draft("Mine"))));
    assert_eq!(ok(block_on(a.template_replay(&tid.to_lowercase()))), Some(t));
    assert_eq!(ok(block_on(a.spec_replay(&sid))), Some(s));
    assert_eq!(ok(block_on(a.template_replay(&free))), None);
    assert_taken(block_on(a.template_replay(&sid)), &sid);
    assert_taken(block_on(b.template_replay(&tid)), &tid);
    assert_taken(block_on(b.spec_replay(&sid)), &sid);
    assert_eq!(err(block_on(a.spec_replay(GENERAL_ASSISTANT))).code(), "INVALID_ARGUMENT");
}
