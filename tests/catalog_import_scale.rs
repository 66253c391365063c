//! importAll grows with the bundle, not with its square (a bundle may hold 100,000 records and
//! the server runs this same code for any user): four times the records may take at most
//! about four times as long. Checked as a ratio of two imports on the same machine, so the
//! machine's speed cancels out; a quadratic step makes the ratio about 16.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

/// Four times the records: linear work takes ~4x (less, with the fixed costs of an import);
/// a quadratic step ~16x. Measured here: 1.7-2.7x (derived) and 2.8-3.9x (ratings) now,
/// 16.5x and 7.1x before the fixes.
const MAX_RATIO: f64 = 6.0;
/// Enough ratings for their quadratic scans to show against the per-row work (debug build).
const RATED_N: usize = 3000;

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID with the time part of `seed` and `i` as its random part.
fn id_like(seed: &str, i: usize) -> String {
    let mut tail = [b'0'; 16];
    let mut x = i;
    for c in tail.iter_mut().rev() {
        *c = CROCKFORD[x % 32];
        x /= 32;
    }
    format!("{}{}", &seed[..10], String::from_utf8_lossy(&tail))
}

/// A bundle of a public base and `n` templates deriving from it (when `derived`), each rated
/// by the importer (when `rated`): rows cloned from one exported template (the hash does not
/// cover the id or the name, so every clone stays valid).
fn bundle(n: usize, derived: bool, rated: bool) -> Value {
    let fx = Fx::frozen();
    let c = fx.cat(U1);
    let base = create(&c, "Base", json!({ "is_public": true }));
    let extra = if derived { json!({ "base_template_id": base.id }) } else { json!({}) };
    let t = create(&c, "Seed", extra);
    ok(block_on(c.rate(&t.id, 3.0)));
    let mut b = ok(block_on(c.export_all()));
    let rows = b["workflow_templates"].as_array().unwrap().clone();
    let seed_row = rows.iter().find(|r| r["id"] == json!(t.id)).unwrap().clone();
    let rating = b["ratings"][0].clone();
    let (mut ts, mut rs) = (rows.into_iter().filter(|r| r["id"] != json!(t.id)).collect::<Vec<_>>(), Vec::new());
    for i in 0..n {
        let id = id_like(&t.id, i + 1);
        let mut row = seed_row.clone();
        row["id"] = json!(id);
        row["name"] = json!(format!("T{i}"));
        ts.push(row);
        if rated {
            let mut r = rating.clone();
            r["template_id"] = json!(id);
            rs.push(r);
        }
    }
    b["workflow_templates"] = json!(ts);
    b["ratings"] = json!(rs);
    b
}

/// The faster of two imports of the bundle into a fresh catalog.
fn import_time(b: &Value) -> Duration {
    (0..2)
        .map(|_| {
            let fx = Fx::frozen();
            let c = fx.cat(U1);
            let b = b.clone();
            let t0 = Instant::now();
            let report = ok(block_on(c.import_all(b)));
            let took = t0.elapsed();
            assert!(report.templates > 0);
            took
        })
        .min()
        .unwrap()
}

fn ratio(n: usize, derived: bool, rated: bool) -> f64 {
    let small = import_time(&bundle(n, derived, rated));
    let large = import_time(&bundle(4 * n, derived, rated));
    large.as_secs_f64() / small.as_secs_f64()
}

#[test]
fn importing_derived_templates_is_not_quadratic() {
    let r = ratio(400, true, false);
    assert!(r < MAX_RATIO, "4x the derived templates took {r:.1}x as long");
}

#[test]
fn importing_ratings_is_not_quadratic() {
    let r = ratio(RATED_N, false, true);
    assert!(r < MAX_RATIO, "4x the rated templates took {r:.1}x as long");
}
