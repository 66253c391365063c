//! Issue 15: every write an offline replica replays carries an Idempotency-Key the server
//! honours, not only the POSTs. PATCH and DELETE of a template and of a spec, PUT and DELETE of
//! a label, PUT of a rating: the same request with the same key is applied once and answered
//! the first answer (status, body, ETag), even after another write moved the record's ETag (a
//! replayed conditional write is not a spurious 412, a replayed DELETE not a spurious 404); the
//! key bound to another request is refused (422); another user's same key is independent; a key
//! past the TTL is forgotten and the request processed anew. The first replay goes to a second
//! server process on the same database (a twin on another process answers the stored response).
//! On SQLite and PostgreSQL (WT_TEST_POSTGRES_URL).

mod common;

use common::*;
use serde_json::{json, Value};
use workflow_templates_server::db::text;

#[derive(Clone)]
struct Req {
    method: &'static str,
    path: String,
    if_match: Option<String>,
    body: Option<Value>,
}

impl Req {
    fn new(method: &'static str, path: String, if_match: Option<String>, body: Option<Value>) -> Req {
        Req { method, path, if_match, body }
    }
    fn send(&self, c: &Client, key: Option<&str>) -> Resp {
        let mut h: Vec<(&str, &str)> = Vec::new();
        let tag = self.if_match.as_ref().map(|t| format!("\"{t}\""));
        if let Some(t) = &tag {
            h.push(("If-Match", t));
        }
        if let Some(k) = key {
            h.push(("Idempotency-Key", k));
        }
        let body = self.body.as_ref().map(Value::to_string);
        c.req(self.method, &self.path, &h, body.as_deref().map(str::as_bytes))
    }
}

/// One keyed write and what surrounds it, made for one user's client.
struct Case {
    /// The keyed write.
    write: Req,
    /// What the first try answers.
    status: u16,
    /// Another write that moves the ETag the keyed write was conditional on (or otherwise
    /// changes the state the write acted on), sent without a key.
    mover: Option<Req>,
    /// Another request (other body or other path) sent with the same key: refused.
    other: Req,
    /// The status of the keyed write sent again once its key is past the TTL (a new request).
    after_ttl: u16,
    /// The state the write acts on, as read now (one effect: a replay does not change it).
    observe: Box<dyn Fn(&Client) -> Value>,
}

fn id_of(r: &Resp) -> String {
    assert!(r.status < 300, "{}: {}", r.status, String::from_utf8_lossy(&r.raw));
    r.json()["id"].as_str().unwrap().to_string()
}

fn etag(r: &Resp) -> String {
    r.header("etag").unwrap_or_else(|| panic!("no ETag: {} {}", r.status, String::from_utf8_lossy(&r.raw))).trim_matches('"').to_string()
}

fn template(c: &Client, name: &str) -> (String, String) {
    let r = c.post("/v1/templates", &draft(name, false));
    (id_of(&r), etag(&r))
}

/// A record's own content (no statistics) as its owner reads it, or the status when it is gone.
fn read(c: &Client, path: &str) -> Value {
    let r = c.get(path);
    if r.status != 200 {
        return json!(r.status);
    }
    let v = r.json();
    json!({ "description": v["description"], "updated_at": v["updated_at"] })
}

fn update_template(c: &Client) -> Case {
    let (id, tag) = template(c, "patched offline");
    let path = format!("/v1/templates/{id}");
    let p = path.clone();
    Case {
        write: Req::new("PATCH", path.clone(), Some(tag.clone()), Some(json!({ "description": "one" }))),
        status: 200,
        mover: Some(Req::new("PATCH", path.clone(), None, Some(json!({ "description": "two" })))),
        other: Req::new("PATCH", path, Some(tag), Some(json!({ "description": "other" }))),
        after_ttl: 412,
        observe: Box::new(move |c| read(c, &p)),
    }
}

fn delete_template(c: &Client) -> Case {
    let (id, tag) = template(c, "deleted offline");
    let (other, _) = template(c, "not deleted");
    let (p, o) = (format!("/v1/templates/{id}"), format!("/v1/templates/{other}"));
    Case {
        write: Req::new("DELETE", p.clone(), Some(tag), None),
        status: 204,
        mover: None,
        other: Req::new("DELETE", o.clone(), None, None),
        after_ttl: 404,
        observe: Box::new(move |c| json!([read(c, &p), read(c, &o)])),
    }
}

fn spec_draft(name: &str) -> Value {
    json!({ "name": name, "description": "a spec", "workflow_type": "plain" })
}

fn update_spec(c: &Client) -> Case {
    let r = c.post("/v1/specs", &spec_draft("spec patched offline"));
    let (id, tag) = (id_of(&r), etag(&r));
    let path = format!("/v1/specs/{id}");
    let p = path.clone();
    Case {
        write: Req::new("PATCH", path.clone(), Some(tag.clone()), Some(json!({ "description": "one" }))),
        status: 200,
        mover: Some(Req::new("PATCH", path.clone(), None, Some(json!({ "description": "two" })))),
        other: Req::new("PATCH", path, Some(tag), Some(json!({ "description": "other" }))),
        after_ttl: 412,
        observe: Box::new(move |c| read(c, &p)),
    }
}

fn delete_spec(c: &Client) -> Case {
    let r = c.post("/v1/specs", &spec_draft("spec deleted offline"));
    let (id, tag) = (id_of(&r), etag(&r));
    let other = id_of(&c.post("/v1/specs", &spec_draft("spec kept")));
    let (p, o) = (format!("/v1/specs/{id}"), format!("/v1/specs/{other}"));
    Case {
        write: Req::new("DELETE", p.clone(), Some(tag), None),
        status: 204,
        mover: None,
        other: Req::new("DELETE", o.clone(), None, None),
        after_ttl: 404,
        observe: Box::new(move |c| json!([read(c, &p), read(c, &o)])),
    }
}

/// A lineage v1, v2 with label `prod` on v1; returns (v1, v2, the label's ETag).
fn labelled(c: &Client, name: &str) -> (String, String, String) {
    let (v1, _) = template(c, name);
    let v2 = id_of(&c.post(&format!("/v1/templates/{v1}/versions"), &json!({ "patch": { "description": "v2" } })));
    let l = c.req("PUT", &format!("/v1/templates/{v1}/labels/prod"), &[], None);
    (v1, v2, etag(&l))
}

fn labels_of(c: &Client, id: &str) -> Value {
    c.get(&format!("/v1/templates/{id}/labels")).json()
}

fn set_label(c: &Client) -> Case {
    let (v1, v2, tag) = labelled(c, "labelled offline");
    let l = v1.clone();
    Case {
        write: Req::new("PUT", format!("/v1/templates/{v2}/labels/prod"), Some(tag), None),
        status: 200,
        mover: Some(Req::new("PUT", format!("/v1/templates/{v1}/labels/prod"), None, None)),
        other: Req::new("PUT", format!("/v1/templates/{v2}/labels/staging"), None, None),
        after_ttl: 412,
        observe: Box::new(move |c| labels_of(c, &l)),
    }
}

fn remove_label(c: &Client) -> Case {
    let (v1, v2, tag) = labelled(c, "unlabelled offline");
    let l = v1.clone();
    Case {
        write: Req::new("DELETE", format!("/v1/templates/{v1}/labels/prod"), Some(tag), None),
        status: 204,
        mover: Some(Req::new("PUT", format!("/v1/templates/{v2}/labels/prod"), None, None)),
        other: Req::new("DELETE", format!("/v1/templates/{v1}/labels/staging"), None, None),
        after_ttl: 412,
        observe: Box::new(move |c| labels_of(c, &l)),
    }
}

fn rate(c: &Client) -> Case {
    let (id, _) = template(c, "rated offline");
    let path = format!("/v1/templates/{id}/rating");
    let p = path.clone();
    Case {
        write: Req::new("PUT", path.clone(), None, Some(json!({ "stars": 4 }))),
        status: 200,
        mover: Some(Req::new("PUT", path.clone(), None, Some(json!({ "stars": 2 })))),
        other: Req::new("PUT", path, None, Some(json!({ "stars": 5 }))),
        // Past the TTL the rating is set again (a new request).
        after_ttl: 200,
        observe: Box::new(move |c| c.get(&p).json()["stars"].clone()),
    }
}

fn age_key(db: &TestDb, key: &str) -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let old = workflow_templates::model::time::format_ms(now - 25 * 3600 * 1000);
    db_conn(db).execute("UPDATE idempotency_keys SET created_at = {ts1} WHERE idem_key = {t2}", &[text(old), text(key)]).unwrap()
}

fn same_answer(a: &Resp, b: &Resp, what: &str) {
    assert_eq!(b.status, a.status, "{what}: {}", String::from_utf8_lossy(&b.raw));
    assert_eq!(b.json(), a.json(), "{what}: the first answer's body");
    assert_eq!(b.header("etag"), a.header("etag"), "{what}: the first answer's ETag");
    assert_eq!(b.header("idempotent-replayed"), Some("true"), "{what}");
}

fn check(name: &str, make: fn(&Client) -> Case) {
    for db in backends() {
        let l = format!("{name} on {}", db.label);
        let (a, b) = (create_user(&db), create_user(&db));
        let (s1, s2) = (Server::start(&db), Server::start(&db));
        let (ca, ca2, cb) = (s1.client(Some(&a.token)), s2.client(Some(&a.token)), s1.client(Some(&b.token)));
        let case = make(&ca);
        let key = format!("replayed-{name}");

        let first = case.write.send(&ca, Some(&key));
        assert_eq!((first.status, first.header("idempotent-replayed")), (case.status, None), "{l}: {}", String::from_utf8_lossy(&first.raw));
        let state = (case.observe)(&ca);

        // Its answer lost, the write is sent again (through the other process): the first answer.
        same_answer(&first, &case.write.send(&ca2, Some(&key)), &format!("{l}: the replay"));
        assert_eq!((case.observe)(&ca), state, "{l}: one effect");

        // Another write moves the record on; the replay still answers the first answer, not 412.
        let state = match &case.mover {
            Some(m) => {
                let r = m.send(&ca, None);
                assert!(r.status < 300, "{l}: the other write: {} {}", r.status, String::from_utf8_lossy(&r.raw));
                let moved = (case.observe)(&ca);
                assert_ne!(moved, state, "{l}: the other write changed the state");
                moved
            }
            None => state,
        };
        same_answer(&first, &case.write.send(&ca, Some(&key)), &format!("{l}: the replay after another write"));
        assert_eq!((case.observe)(&ca), state, "{l}: the replay did not apply the write again");

        // The key belongs to its request: another request under it is refused, nothing applied.
        let other = case.other.send(&ca2, Some(&key));
        assert_eq!((other.status, other.code().as_str()), (422, "INVALID_ARGUMENT"), "{l}: {}", String::from_utf8_lossy(&other.raw));
        assert_eq!((case.observe)(&ca), state, "{l}: the refused request applied nothing");

        // Keys are per user: another user's write under the same key is their own, new request.
        let theirs = make(&cb);
        let r = theirs.write.send(&cb, Some(&key));
        assert_eq!((r.status, r.header("idempotent-replayed")), (case.status, None), "{l}: another user's key: {}", String::from_utf8_lossy(&r.raw));

        // Past the TTL the key is forgotten: the write is processed anew.
        assert!(age_key(&db, &key) >= 1, "{l}");
        let late = case.write.send(&ca, Some(&key));
        assert_eq!((late.status, late.header("idempotent-replayed")), (case.after_ttl, None), "{l}: after the TTL: {}", String::from_utf8_lossy(&late.raw));
    }
}

#[test]
fn update_template_replays_its_first_answer() {
    check("update", update_template);
}

#[test]
fn delete_template_replays_its_first_answer() {
    check("delete", delete_template);
}

#[test]
fn update_spec_replays_its_first_answer() {
    check("updateSpec", update_spec);
}

#[test]
fn delete_spec_replays_its_first_answer() {
    check("deleteSpec", delete_spec);
}

#[test]
fn set_label_replays_its_first_answer() {
    check("setLabel", set_label);
}

#[test]
fn remove_label_replays_its_first_answer() {
    check("removeLabel", remove_label);
}

#[test]
fn rate_replays_its_first_answer() {
    check("rate", rate);
}

/// A malformed key is 400 on these endpoints as on the POSTs, and nothing is applied.
#[test]
fn keys_on_the_new_endpoints_are_checked_like_the_posts() {
    for db in backends() {
        let l = db.label;
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let (id, tag) = template(&c, "bad key");
        let r = c.req("PATCH", &format!("/v1/templates/{id}"), &[("If-Match", &format!("\"{tag}\"")), ("Idempotency-Key", "")], Some(br#"{"description":"x"}"#));
        assert_eq!((r.status, r.code().as_str()), (400, "INVALID_ARGUMENT"), "{l}: {}", String::from_utf8_lossy(&r.raw));
        let r = c.req("DELETE", &format!("/v1/templates/{id}/labels/prod"), &[("Idempotency-Key", &"k".repeat(256))], None);
        assert_eq!((r.status, r.code().as_str()), (400, "INVALID_ARGUMENT"), "{l}");
        assert_eq!(read(&c, &format!("/v1/templates/{id}"))["description"], "about bad key", "{l}: nothing applied");
    }
}

/// A write applied whose answer was never stored (the server stopped between the commit and
/// storing it): the replay rebuilds the answer from what is stored, in the endpoint's shape (a
/// label with its `updated_at` ETag, a DELETE's empty 204), not the import's `{ replayed: true }`.
#[test]
fn an_answer_never_stored_is_rebuilt_in_the_shape_of_the_endpoint() {
    for db in backends() {
        let l = db.label;
        let a = create_user(&db);
        let srv = Server::start(&db);
        let c = srv.client(Some(&a.token));
        let forget = |key: &str| db_conn(&db).execute("UPDATE idempotency_keys SET status = NULL, response = NULL WHERE idem_key = {t1}", &[text(key)]).unwrap();

        let (_, v2, tag) = labelled(&c, "answer lost");
        let put = Req::new("PUT", format!("/v1/templates/{v2}/labels/prod"), Some(tag), None);
        let first = put.send(&c, Some("label-lost"));
        assert_eq!(first.status, 200, "{l}");
        assert_eq!(forget("label-lost"), 1, "{l}");
        same_answer(&first, &put.send(&c, Some("label-lost")), &format!("{l}: a label rebuilt"));

        let (id, tag) = template(&c, "deleted, answer lost");
        let del = Req::new("DELETE", format!("/v1/templates/{id}"), Some(tag), None);
        assert_eq!(del.send(&c, Some("delete-lost")).status, 204, "{l}");
        assert_eq!(forget("delete-lost"), 1, "{l}");
        let again = del.send(&c, Some("delete-lost"));
        assert_eq!((again.status, again.header("idempotent-replayed"), again.raw.len()), (204, Some("true"), 0), "{l}: {}", String::from_utf8_lossy(&again.raw));
    }
}

/// Twins at once (a retry sent while the first try still runs), through two processes: one
/// applies the conditional PATCH, the others answer its answer (their If-Match already stale,
/// their key claimed), never 412.
#[test]
fn concurrent_twins_of_a_conditional_patch_answer_one_answer() {
    for db in backends() {
        let l = db.label;
        let a = create_user(&db);
        let (s1, s2) = (Server::start(&db), Server::start(&db));
        let (c1, c2) = (s1.client(Some(&a.token)), s2.client(Some(&a.token)));
        let (id, tag) = template(&c1, "patched by twins");
        let write = Req::new("PATCH", format!("/v1/templates/{id}"), Some(tag), Some(json!({ "description": "twin" })));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (c, w, b) = (if i % 2 == 0 { c1.clone() } else { c2.clone() }, write.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    w.send(&c, Some("twin-key"))
                })
            })
            .collect();
        let answers: Vec<Resp> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for r in &answers {
            assert_eq!(r.status, 200, "{l}: {}", String::from_utf8_lossy(&r.raw));
            assert_eq!((r.json(), r.header("etag")), (answers[0].json(), answers[0].header("etag")), "{l}: one answer");
        }
        assert_eq!(answers.iter().filter(|r| r.header("idempotent-replayed").is_none()).count(), 1, "{l}: applied once");
        assert_eq!(read(&c1, &format!("/v1/templates/{id}"))["updated_at"], answers[0].json()["updated_at"], "{l}");
    }
}
