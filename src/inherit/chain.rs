//! Resolution of a chain of records the caller holds (the storage-free `resolveRecords` of
//! `workflow-templates/core`): the same fold as the catalog's `resolve`, after checking that the
//! records are the chain they say they are. The catalog walks links itself and never needs this.

use serde_json::Value;

use super::{resolve, MAX_DEPTH};
use crate::error::{Error, Result};
use crate::model::WorkflowTemplate;

/// Checks that `chain` (leaf first, root last, as the catalog's `chain()` returns it) is one
/// whole inheritance chain: not empty, at most [`MAX_DEPTH`] records, each record's
/// `base_template_id` the id of the next one, the last with no base.
///
/// Errors (SPEC section 5's codes, so callers branch the same way as on the catalog's):
/// - empty: INVALID_ARGUMENT;
/// - more than [`MAX_DEPTH`] records: INHERITANCE_TOO_DEEP (`id` the leaf's);
/// - a base that is a record already on the chain: INHERITANCE_CYCLE through those records;
/// - a base that is not the next record, or a last record that has a base:
///   BASE_NOT_FOUND naming that base (the record it names was not given in its place);
/// - records after one without a base: INVALID_ARGUMENT (they are no part of its chain).
pub fn check_chain(chain: &[WorkflowTemplate]) -> Result<()> {
    let Some(leaf) = chain.first() else {
        return Err(Error::invalid("resolveRecords takes a non-empty chain: the template first, then its base, up to the root"));
    };
    if chain.len() > MAX_DEPTH {
        return Err(Error::InheritanceTooDeep { id: leaf.id.clone(), limit: MAX_DEPTH });
    }
    for (i, t) in chain.iter().enumerate() {
        let next = chain.get(i + 1);
        match (&t.base_template_id, next) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(Error::invalid(format!(
                    "chain[{i}] ({}) has no base_template_id, so it is the root: the {} record(s) after it are no part of its chain",
                    t.id,
                    chain.len() - i - 1
                )));
            }
            (Some(base), _) => {
                if let Some(pos) = chain[..=i].iter().position(|x| &x.id == base) {
                    let mut ids: Vec<String> = chain[pos..=i].iter().map(|x| x.id.clone()).collect();
                    ids.push(base.clone());
                    return Err(Error::InheritanceCycle { ids, hidden: 0 });
                }
                if next.map(|n| &n.id) != Some(base) {
                    return Err(Error::BaseNotFound { reference: base.clone() });
                }
            }
        }
    }
    Ok(())
}

/// `check_chain`, then the resolution in the shape of the catalog's `resolve(id)`:
/// `{ id, chain: [{ id, name, base_template_id, level }], effective, provenance, resolved_hash }`.
pub fn resolve_records(chain: &[WorkflowTemplate]) -> Result<Value> {
    check_chain(chain)?;
    let refs: Vec<&WorkflowTemplate> = chain.iter().collect();
    let r = resolve(&refs);
    let links: Vec<Value> = chain
        .iter()
        .enumerate()
        .map(|(level, t)| obj!({ "id": t.id, "name": t.name, "base_template_id": t.base_template_id, "level": level }))
        .collect();
    Ok(obj!({
        "id": chain[0].id,
        "chain": links,
        "effective": r.effective,
        "provenance": r.provenance,
        "resolved_hash": r.resolved_hash,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(id: &str, base: Option<&str>, params: Value) -> WorkflowTemplate {
        let mut t = WorkflowTemplate::with_defaults(id.into(), "01JD0000000000000000000001".into(), "2026-01-01T00:00:00.000Z".into());
        t.name = format!("t{id}");
        t.base_template_id = base.map(str::to_string);
        t.default_params = params.as_object().cloned().unwrap_or_default();
        t
    }

    const A: &str = "01JD00000000000000000000AA";
    const B: &str = "01JD00000000000000000000BB";
    const C: &str = "01JD00000000000000000000CC";

    #[test]
    fn a_whole_chain_resolves_like_the_fold() {
        let chain = [rec(A, Some(B), json!({ "x": 1, "y": null })), rec(B, None, json!({ "y": 2, "z": 3 }))];
        let r = resolve_records(&chain).unwrap();
        assert_eq!(r["id"], A);
        assert_eq!(r["effective"]["default_params"], json!({ "x": 1, "z": 3 }));
        assert_eq!(r["provenance"], json!({ "/x": A, "/z": B }));
        assert_eq!(r["chain"][1], json!({ "id": B, "name": format!("t{B}"), "base_template_id": null, "level": 1 }));
        let refs: Vec<&WorkflowTemplate> = chain.iter().collect();
        assert_eq!(r["resolved_hash"], resolve(&refs).resolved_hash);
    }

    #[test]
    fn every_broken_chain_is_a_coded_error() {
        let code = |c: &[WorkflowTemplate]| check_chain(c).unwrap_err().code();
        assert_eq!(code(&[]), "INVALID_ARGUMENT");
        // the last record still has a base: the chain stops short of the root
        assert_eq!(check_chain(&[rec(A, Some(B), json!({}))]).unwrap_err(), Error::BaseNotFound { reference: B.into() });
        // the next record is not the base named
        assert_eq!(code(&[rec(A, Some(B), json!({})), rec(C, None, json!({}))]), "BASE_NOT_FOUND");
        // records after the root
        assert_eq!(code(&[rec(A, None, json!({})), rec(B, None, json!({}))]), "INVALID_ARGUMENT");
        // a cycle, including a record that is its own base and a repeated record
        assert_eq!(check_chain(&[rec(A, Some(A), json!({}))]).unwrap_err(), Error::InheritanceCycle { ids: vec![A.into(), A.into()], hidden: 0 });
        assert_eq!(
            check_chain(&[rec(A, Some(B), json!({})), rec(B, Some(A), json!({}))]).unwrap_err(),
            Error::InheritanceCycle { ids: vec![A.into(), B.into(), A.into()], hidden: 0 }
        );
    }

    #[test]
    fn depth_is_bounded_like_the_catalogs() {
        let ids: Vec<String> = (0..=MAX_DEPTH).map(|i| format!("01JD0000000000000000000{:03}", i)).collect();
        let chain = |n: usize| -> Vec<WorkflowTemplate> {
            (0..n).map(|i| rec(&ids[i], (i + 1 < n).then(|| ids[i + 1].as_str()), json!({ format!("k{i}"): i }))).collect()
        };
        assert!(check_chain(&chain(MAX_DEPTH)).is_ok());
        assert_eq!(check_chain(&chain(MAX_DEPTH + 1)).unwrap_err(), Error::InheritanceTooDeep { id: ids[0].clone(), limit: MAX_DEPTH });
    }
}
