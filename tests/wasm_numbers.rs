//! RFC 8785 numbers in the browser (issue 12): on wasm32 the package lays out zmij's shortest
//! digits as ECMAScript does (src/hash/number.rs), while the server formats them with ryu-js.
//! These tests hold the browser's text to ryu-js (the native formatter, a dev-dependency here)
//! and to the engine's own `String(x)`, over doubles of every shape: tiny, huge, subnormal,
//! negative zero, integers past 2^53, both sides of 1e21 and of 1e-6 (where ECMAScript changes
//! notation), and random bit patterns; in arrays, in objects whose members are reordered (RFC
//! 8785 sorts by UTF-16 code units), and in config hashes.
#![cfg(target_arch = "wasm32")]

use serde_json::{Map, Value};
use wasm_bindgen_test::*;
use workflow_templates::hash::{canonical_json, canonical_len, config_hash, js_number, sha256_hex, ConfigParts};
use workflow_templates::model::WorkflowType;

wasm_bindgen_test_configure!(run_in_browser);

/// splitmix64: a seeded generator, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Neighbours of `x` by bit pattern (positive finite `x`).
fn around(x: f64, k: i64) -> f64 {
    f64::from_bits((x.to_bits() as i64 + k) as u64)
}

/// One double of a shape picked at random (never NaN or an infinity: JSON has none).
fn double(r: &mut Rng) -> f64 {
    let sign = if r.below(2) == 0 { 1.0 } else { -1.0 };
    let x = match r.below(10) {
        0 => f64::from_bits(r.next()),                        // any bit pattern
        1 => f64::from_bits(r.below(1 << 52)),                // subnormal (or zero)
        2 => f64::from_bits(r.next() & 0x00ff_ffff_ffff_ffff), // tiny: exponents near the bottom
        3 => f64::from_bits(0x7f00_0000_0000_0000 | r.below(1 << 56)), // huge
        4 => around(1e21, r.below(9) as i64 - 4),             // 1e21: digits or exponent
        5 => around(1e-6, r.below(9) as i64 - 4),             // 1e-6: fixed or exponent
        6 => around(5e-7, r.below(9) as i64 - 4),
        7 => (1u64 << 53) as f64 + (r.below(1 << 20) * 2) as f64 * (1 << r.below(11)) as f64, // integers past 2^53
        8 => (r.below(1_000_000) as f64) / 10f64.powi(r.below(8) as i32), // short decimals
        _ => -0.0,
    };
    let x = sign * x;
    if x.is_finite() {
        x
    } else {
        0.5
    }
}

fn ryu(x: f64) -> String {
    ryu_js::Buffer::new().format_finite(x).to_string()
}

fn engine(x: f64) -> String {
    String::from(js_sys::Number::from(x).to_string_with_radix(10).unwrap())
}

fn number(x: f64) -> Value {
    Value::Number(serde_json::Number::from_f64(x).unwrap())
}

#[wasm_bindgen_test]
fn arrays_of_doubles_match_ryu_js_and_the_engines_string() {
    let mut r = Rng(0x5eed_0012);
    // 200 arrays of 1,000: 200,000 doubles.
    for round in 0..200 {
        let xs: Vec<f64> = (0..1000).map(|_| double(&mut r)).collect();
        let want = format!("[{}]", xs.iter().map(|&x| ryu(x)).collect::<Vec<_>>().join(","));
        let v = Value::Array(xs.iter().map(|&x| number(x)).collect());
        let got = canonical_json(&v);
        if got != want {
            let (g, w): (Vec<&str>, Vec<&str>) = (got.split(',').collect(), want.split(',').collect());
            let i = g.iter().zip(&w).position(|(a, b)| a != b).unwrap_or(0);
            panic!("round {round}: item {i} is {:?}, ryu-js writes {:?} ({:e})", g.get(i), w.get(i), xs[i.min(xs.len() - 1)]);
        }
        assert_eq!(canonical_len(&v), want.len(), "round {round}: canonical_len");
        // The engine's own String(x) agrees too (a sample: one call per number).
        for &x in xs.iter().step_by(50) {
            assert_eq!(engine(x), ryu(x), "String({x:e})");
            assert_eq!(js_number(x), ryu(x), "js_number({x:e})");
        }
    }
}

#[wasm_bindgen_test]
fn edges_are_written_as_ryu_js_writes_them() {
    let edges = [
        0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1e21, 1e-7, 1e-6, 5e-7, 123.0, 1.5e300, f64::MIN_POSITIVE,
        f64::from_bits(1), f64::MAX, f64::MIN, f64::EPSILON, 9007199254740992.0, 9007199254740993.0,
        18446744073709551615.0, 1e20 + 0.5, 4503599627370495.5, 0.000001, 0.0000015,
    ];
    let v = Value::Array(edges.iter().map(|&x| number(x)).collect());
    let want = format!("[{}]", edges.iter().map(|&x| ryu(x)).collect::<Vec<_>>().join(","));
    assert_eq!(canonical_json(&v), want);
    assert!(want.starts_with("[0,0,1,-1,0.1,0.5,1e+21,1e-7,0.000001,5e-7,123,1.5e+300,"), "{want}");
}

#[wasm_bindgen_test]
fn members_reordered_by_utf16_keep_their_own_numbers() {
    // In UTF-16 order the emoji key (0xD83D...) sorts before U+FF61: the walk writes members in
    // an order that is not the map's, and each member's number must follow it.
    let mut r = Rng(7);
    for _ in 0..200 {
        let (a, b, c, d) = (double(&mut r), double(&mut r), double(&mut r), double(&mut r));
        let mut m = Map::new();
        m.insert("\u{ff61}".into(), number(a));
        m.insert("\u{1f600}".into(), Value::Array(vec![number(b), number(c)]));
        m.insert("a".into(), number(d));
        let want = format!("{{\"a\":{},\"\u{1f600}\":[{},{}],\"\u{ff61}\":{}}}", ryu(d), ryu(b), ryu(c), ryu(a));
        assert_eq!(canonical_json(&Value::Object(m)), want);
    }
}

#[wasm_bindgen_test]
fn config_hash_of_floats_is_the_hash_of_ryu_js_text() {
    let mut r = Rng(12);
    for _ in 0..50 {
        let xs: Vec<f64> = (0..100).map(|_| double(&mut r)).collect();
        let mut params = Map::new();
        params.insert("t".into(), number(xs[0]));
        params.insert("xs".into(), Value::Array(xs[1..].iter().map(|&x| number(x)).collect()));
        let tools = vec![];
        let p = ConfigParts {
            workflow_type: WorkflowType::Plain,
            default_params: &params,
            required_tools: &tools,
            required_retrievers: &tools,
            base_template_id: None,
        };
        let items: Vec<String> = xs[1..].iter().map(|&x| ryu(x)).collect();
        let text = format!(
            "{{\"base_template_id\":null,\"default_params\":{{\"t\":{},\"xs\":[{}]}},\"required_retrievers\":[],\"required_tools\":[],\"workflow_type\":\"plain\"}}",
            ryu(xs[0]),
            items.join(",")
        );
        assert_eq!(config_hash(&p), sha256_hex(text.as_bytes()), "{text}");
    }
}

#[wasm_bindgen_test]
fn integral_doubles_print_as_digits_and_strings_stay_strings() {
    let v: Value = serde_json::from_str(r#"{"n":[1,-2,9007199254740992,-0,2.0,"x,y"],"s":"1.5"}"#).unwrap();
    assert_eq!(canonical_json(&v), r#"{"n":[1,-2,9007199254740992,0,2,"x,y"],"s":"1.5"}"#);
}
