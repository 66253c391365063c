//! Benchmark (not a test: no time is asserted anywhere in the suite): importAll grows with the
//! bundle, not with its square (a bundle may hold 100,000 records and the server runs this same
//! code for any user). Prints, per bundle shape, the best of two imports of n and 4n records
//! into a fresh memory catalog and their ratio: linear work gives ~4x (less, with an import's
//! fixed costs), a quadratic step ~16x. Results: BENCHMARKS.md (size9 review row).
//!
//!     cargo run --release --example import_scale            # n = 500 derived, 8,000 rated
//!     cargo run --release --example import_scale -- 2000 32000

#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

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

fn row(what: &str, n: usize, derived: bool, rated: bool) {
    let small = import_time(&bundle(n, derived, rated));
    let large = import_time(&bundle(4 * n, derived, rated));
    let r = large.as_secs_f64() / small.as_secs_f64();
    println!("| {what} | {n} | {:.3} | {} | {:.3} | {r:.1}x |", small.as_secs_f64(), 4 * n, large.as_secs_f64());
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (derived_n, rated_n) = (args.first().copied().unwrap_or(500), args.get(1).copied().unwrap_or(8000));
    println!("| bundle | n | import n (s) | 4n | import 4n (s) | 4n / n |");
    println!("| --- | --- | --- | --- | --- | --- |");
    row("templates deriving from one base", derived_n, true, false);
    row("templates, each rated", rated_n, false, true);
}
