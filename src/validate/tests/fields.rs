//! Field rules: names and text, enums, ids and timestamps, numbers, lists, JSON columns.

use serde_json::{json, Value};

use super::*;

// ---- names and text ----------------------------------------------------------------------

#[test]
fn name_rules() {
    let cases: &[(&str, &[&str])] = &[
        ("ok name", &[]),
        ("é", &[]),
        (" lead", &[NOT_TRIMMED]),
        ("trail ", &[NOT_TRIMMED]),
        ("tab\t", &[NOT_TRIMMED, CONTROL_CHAR]),
        ("\u{FEFF}bom", &[NOT_TRIMMED]),
        ("nbsp\u{A0}", &[NOT_TRIMMED]),
        ("", &[TOO_SHORT]),
        ("   ", &[NOT_TRIMMED]),
        ("a\nb", &[CONTROL_CHAR]),
        ("a\u{0}b", &[CONTROL_CHAR]),
        ("a\u{9f}b", &[CONTROL_CHAR]),
        (" a\nb ", &[NOT_TRIMMED, CONTROL_CHAR]),
    ];
    for (name, codes) in cases {
        let expected: Vec<(&str, &str)> = codes.iter().map(|c| ("name", *c)).collect();
        template_violations(&with("name", json!(name)), &expected);
    }
    template_violations(&with("name", json!(1)), &[("name", TYPE)]);
}

#[test]
fn name_length_counts_scalar_values() {
    template_violations(&with("name", json!("x".repeat(255))), &[]);
    template_violations(&with("name", json!("é".repeat(255))), &[]);
    template_violations(&with("name", json!("😀".repeat(255))), &[]);
    template_violations(&with("name", json!("x".repeat(256))), &[("name", TOO_LONG)]);
    template_violations(&with("name", json!("😀".repeat(256))), &[("name", TOO_LONG)]);
}

#[test]
fn description_and_changelog() {
    template_violations(&with("description", json!("")), &[]);
    template_violations(&with("description", json!("\n\tmulti\nline ")), &[]);
    template_violations(&with("description", json!("é".repeat(10_000))), &[]);
    template_violations(&with("description", json!("x".repeat(10_001))), &[("description", TOO_LONG)]);
    template_violations(&with("description", json!([])), &[("description", TYPE)]);
    template_violations(&with("changelog", Value::Null), &[]);
    template_violations(&with("changelog", json!("y".repeat(10_001))), &[("changelog", TOO_LONG)]);
    template_violations(&with("changelog", json!(false)), &[("changelog", TYPE)]);
}

// ---- enums, ids, timestamps, booleans ----------------------------------------------------

#[test]
fn enums() {
    template_violations(&with("workflow_type", json!("PLAIN")), &[("workflow_type", INVALID_ENUM)]);
    template_violations(&with("workflow_type", json!(1)), &[("workflow_type", TYPE)]);
    template_violations(&with("category", json!("custom")), &[]);
    template_violations(&with("category", json!("Custom")), &[("category", INVALID_ENUM)]);
    template_violations(&with("category", json!(null)), &[("category", TYPE)]);
    let vs = validate_template(&with("category", json!("x")), COMPLETE);
    assert!(vs[0].message.contains("\"customer_support\""), "{}", vs[0].message);
}

#[test]
fn ids() {
    template_violations(&with("id", json!(ID.to_lowercase())), &[]);
    template_violations(&with("owner_id", json!("not-a-ulid")), &[("owner_id", INVALID_ID)]);
    template_violations(&with("id", json!("81ARZ3NDEKTSV4RRFFQ69G5FAV")), &[("id", INVALID_ID)]);
    template_violations(&with("id", json!(12)), &[("id", TYPE)]);
    // A bad base id: reported, and the hash is not judged on a bad configuration.
    template_violations(&with("base_template_id", json!("zzz")), &[("base_template_id", INVALID_ID)]);
}

#[test]
fn timestamps() {
    template_violations(&with("created_at", json!("2026-01-01T01:00:00+01:00")), &[]);
    template_violations(&with("created_at", json!("2026-01-01")), &[("created_at", INVALID_TIMESTAMP)]);
    template_violations(&with("last_used_at", json!("yesterday")), &[("last_used_at", INVALID_TIMESTAMP)]);
    template_violations(&with("last_used_at", Value::Null), &[]);
    template_violations(&with("updated_at", json!(5)), &[("updated_at", TYPE)]);
    // updated_at may equal created_at, not precede it; offsets are compared as instants.
    template_violations(&with("updated_at", json!("2026-01-01T00:00:00Z")), &[]);
    template_violations(&with("updated_at", json!("2025-12-31T23:59:59.999Z")), &[("updated_at", TIME_ORDER)]);
    template_violations(&with("updated_at", json!("2026-01-01T00:30:00+01:00")), &[("updated_at", TIME_ORDER)]);
}

#[test]
fn booleans_and_builtin_claim() {
    template_violations(&with("is_public", json!("true")), &[("is_public", TYPE)]);
    template_violations(&with("is_latest", json!(1)), &[("is_latest", TYPE)]);
    template_violations(&with("is_builtin", json!(true)), &[("is_builtin", BUILTIN_CLAIM)]);
    let opts = Options { complete: true, allow_builtin: true };
    assert_exactly(&validate_template(&with("is_builtin", json!(true)), opts), &[]);
    let partial = json!({ "name": "x", "workflow_type": "plain", "is_builtin": true });
    assert_exactly(&validate_template(&partial, PARTIAL), &[("is_builtin", BUILTIN_CLAIM)]);
}

// ---- numbers -----------------------------------------------------------------------------

#[test]
fn integers() {
    template_violations(&with("version", json!(1)), &[]);
    template_violations(&with("version", json!(3.0)), &[]);
    template_violations(&with("version", json!(0)), &[("version", OUT_OF_RANGE)]);
    template_violations(&with("version", json!(1.5)), &[("version", TYPE)]);
    template_violations(&with("version", json!("1")), &[("version", TYPE)]);
    template_violations(&with("usage_count", json!(0)), &[]);
    template_violations(&with("usage_count", json!(-1)), &[("usage_count", OUT_OF_RANGE)]);
    template_violations(&with("usage_count", json!(-3.0)), &[("usage_count", OUT_OF_RANGE)]);
    template_violations(&with("usage_count", json!(-0.0)), &[]);
    template_violations(&with("total_tokens_used", json!(MAX_SAFE_INTEGER)), &[]);
    template_violations(&with("total_tokens_used", json!(MAX_SAFE_INTEGER as f64)), &[]);
    // Beyond 2^53-1: one UNSAFE_NUMBER, not also OUT_OF_RANGE.
    template_violations(
        &with("total_tokens_used", json!(MAX_SAFE_INTEGER + 1)),
        &[("total_tokens_used", UNSAFE_NUMBER)],
    );
    template_violations(&with("total_tokens_used", json!(u64::MAX)), &[("total_tokens_used", UNSAFE_NUMBER)]);
    template_violations(&with("usage_count", json!(i64::MIN)), &[("usage_count", UNSAFE_NUMBER)]);
    template_violations(&with("usage_count", json!(1e300)), &[("usage_count", UNSAFE_NUMBER)]);
    template_violations(&with("avg_response_time_ms", json!(-5)), &[("avg_response_time_ms", OUT_OF_RANGE)]);
    template_violations(&with("avg_response_time_ms", json!(0.5)), &[("avg_response_time_ms", TYPE)]);
    template_violations(&with("estimated_complexity", Value::Null), &[]);
    template_violations(&with("estimated_complexity", json!([1])), &[("estimated_complexity", TYPE)]);
}

#[test]
fn floats() {
    template_violations(&with("rating", json!(0)), &[]);
    template_violations(&with("rating", json!(5)), &[]);
    template_violations(&with("rating", json!(5.0001)), &[("rating", OUT_OF_RANGE)]);
    template_violations(&with("rating", json!(-0.1)), &[("rating", OUT_OF_RANGE)]);
    template_violations(&with("rating", json!("4")), &[("rating", TYPE)]);
    template_violations(&with("success_rate", json!(1)), &[]);
    template_violations(&with("success_rate", json!(1.01)), &[("success_rate", OUT_OF_RANGE)]);
    template_violations(&with("success_rate", Value::Null), &[]);
    template_violations(&with("total_cost", json!(0)), &[]);
    template_violations(&with("total_cost", json!(-0.01)), &[("total_cost", OUT_OF_RANGE)]);
    template_violations(&with("total_cost", json!(1e16)), &[("total_cost", UNSAFE_NUMBER)]);
    template_violations(&with("avg_tokens_per_use", json!(-1)), &[("avg_tokens_per_use", OUT_OF_RANGE)]);
}

#[test]
fn rating_consistency() {
    let mut v = valid();
    v["rating"] = Value::Null;
    template_violations(&v, &[("rating", INCONSISTENT)]);
    v["rating_count"] = json!(0);
    template_violations(&v, &[]);
    v["rating"] = json!(3);
    template_violations(&v, &[("rating", INCONSISTENT)]);
    // Not judged when either side is invalid.
    v["rating_count"] = json!(-1);
    template_violations(&v, &[("rating_count", OUT_OF_RANGE)]);
}

// ---- lists -------------------------------------------------------------------------------

#[test]
fn resource_names() {
    for ok in ["a", "A9", "ns:tool/v1.2-beta_x", &"a".repeat(128)] {
        assert!(is_resource_name(ok), "{ok}");
    }
    for bad in ["", "_a", "-a", ".a", "a b", "a\u{e9}", "é", &"a".repeat(129), "a\n", "a@b", "a+b"] {
        assert!(!is_resource_name(bad), "{bad}");
    }
}

#[test]
fn required_lists() {
    let v = rehash(with("required_tools", json!(["a", "b"])));
    template_violations(&v, &[]);
    template_violations(&with("required_tools", json!("a")), &[("required_tools", TYPE)]);
    template_violations(&with("required_tools", json!({})), &[("required_tools", TYPE)]);
    template_violations(
        &with("required_retrievers", json!(["r", "bad name", "r", null])),
        &[("required_retrievers[1]", PATTERN), ("required_retrievers[2]", DUPLICATE), ("required_retrievers[3]", TYPE)],
    );
    let many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    template_violations(&with("required_tools", json!(many)), &[("required_tools", TOO_MANY)]);
    let max: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();
    template_violations(&rehash(with("required_tools", json!(max))), &[]);
    // Duplicates are exact (case-sensitive) for tools.
    template_violations(&rehash(with("required_tools", json!(["Tool", "tool"]))), &[]);
    let vs = validate_template(&with("required_tools", json!(["a", "a"])), COMPLETE);
    assert!(vs.iter().any(|x| x.code == DUPLICATE && x.message.contains("required_tools[0]")), "{vs:#?}");
}

#[test]
fn tags() {
    template_violations(&with("tags", Value::Null), &[]);
    template_violations(&with("tags", json!([])), &[]);
    template_violations(&with("tags", json!(["Rust", "rust"])), &[("tags[1]", DUPLICATE)]);
    template_violations(&with("tags", json!(["Ärger", "äRGER"])), &[("tags[1]", DUPLICATE)]);
    // Unicode lowercase, final sigma included (as JavaScript's toLowerCase).
    template_violations(&with("tags", json!(["ΣΑΣ", "σας"])), &[("tags[1]", DUPLICATE)]);
    template_violations(&with("tags", json!(["ǅ", "ǆ", "Ǆ"])), &[("tags[1]", DUPLICATE), ("tags[2]", DUPLICATE)]);
    template_violations(
        &with("tags", json!([" a", "b\n"])),
        &[("tags[0]", NOT_TRIMMED), ("tags[1]", NOT_TRIMMED), ("tags[1]", CONTROL_CHAR)],
    );
    template_violations(
        &with("tags", json!(["", "x".repeat(65), "y".repeat(64)])),
        &[("tags[0]", TOO_SHORT), ("tags[1]", TOO_LONG)],
    );
    template_violations(&with("tags", json!(["a\u{1}b"])), &[("tags[0]", CONTROL_CHAR)]);
    template_violations(&with("tags", json!([1, {}])), &[("tags[0]", TYPE), ("tags[1]", TYPE)]);
    template_violations(&with("tags", json!("a,b")), &[("tags", TYPE)]);
    let many: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
    template_violations(&with("tags", json!(many)), &[("tags", TOO_MANY)]);
}

// ---- JSON columns ------------------------------------------------------------------------

#[test]
fn default_params_type_and_paths() {
    template_violations(&with("default_params", json!([])), &[("default_params", TYPE)]);
    template_violations(&with("default_params", json!("{}")), &[("default_params", TYPE)]);
    let v =
        with("default_params", json!({ "a.b": { "": [1, { "__proto__": null }] }, "ok": -9_007_199_254_740_992i64 }));
    template_violations(
        &v,
        &[("default_params[\"a.b\"][\"\"][1].__proto__", FORBIDDEN_KEY), ("default_params.ok", UNSAFE_NUMBER)],
    );
    // Safe extremes are fine.
    let v = rehash(with(
        "default_params",
        json!({ "max": MAX_SAFE_INTEGER, "min": -(MAX_SAFE_INTEGER as i64), "f": 1.5e-300 }),
    ));
    template_violations(&v, &[]);
}

#[test]
fn default_params_depth() {
    assert_eq!(json_depth(&json!(1), 10), 0);
    assert_eq!(json_depth(&json!({}), 10), 1);
    assert_eq!(json_depth(&json!({ "a": {} }), 10), 2);
    assert_eq!(json_depth(&json!([[1], [[2]]]), 10), 3);
    assert_eq!(json_depth(&nested(40), 10), 11);
    assert_eq!(json_depth(&nested(32), 100), 32);

    template_violations(&rehash(with("default_params", nested(32))), &[]);
    let v = with("default_params", nested(33));
    let vs = validate_template(&v, COMPLETE);
    assert_exactly(
        &vs,
        &[("default_params.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a", TOO_DEEP)],
    );
    // Too deep everywhere: still a single TOO_DEEP.
    let wide = json!({ "x": nested(40), "y": nested(50), "z": [nested(60)] });
    let vs = validate_template(&with("default_params", wide), COMPLETE);
    assert_eq!(vs.iter().filter(|v| v.code == TOO_DEEP).count(), 1, "{vs:#?}");
    assert_eq!(vs.len(), 1);
}

#[test]
fn sizes() {
    // Canonical size, not the size of the input: just under and just over 256 KiB.
    let pad = |n: usize| json!({ "s": "x".repeat(n) });
    let overhead = hash::canonical_json(&pad(0)).len();
    template_violations(&rehash(with("default_params", pad(MAX_PARAMS_BYTES - overhead))), &[]);
    template_violations(
        &with("default_params", pad(MAX_PARAMS_BYTES - overhead + 1)),
        &[("default_params", TOO_LARGE)],
    );
    template_violations(&with("extra_metadata", pad(MAX_METADATA_BYTES - overhead)), &[]);
    template_violations(
        &with("extra_metadata", pad(MAX_METADATA_BYTES - overhead + 1)),
        &[("extra_metadata", TOO_LARGE)],
    );
    template_violations(&with("extra_metadata", json!([1])), &[("extra_metadata", TYPE)]);
    template_violations(
        &with("extra_metadata", json!({ "n": 1e20, "__proto__": {} })),
        &[("extra_metadata.n", UNSAFE_NUMBER), ("extra_metadata.__proto__", FORBIDDEN_KEY)],
    );
    // Metadata may nest deeper than params (up to the hard bound).
    template_violations(&with("extra_metadata", nested(100)), &[]);
    let vs = validate_template(&with("extra_metadata", nested(200)), COMPLETE);
    assert_eq!(pairs(&vs).iter().map(|x| x.1.as_str()).collect::<Vec<_>>(), vec![TOO_DEEP]);
}

/// Owns a value and takes it apart iteratively when dropped, even while unwinding from a
/// failed assertion.
struct Deep(Value);

impl Drop for Deep {
    fn drop(&mut self) {
        drop_deep(std::mem::take(&mut self.0));
    }
}

#[test]
fn hostile_depth_does_not_overflow() {
    let deep = Deep(very_deep(200_000));
    let mut out = Vec::new();
    check_json_value(&deep.0, "x", &mut out);
    // The outermost container is an object, then an array, ...: the bound is hit once.
    assert_exactly(&out, &[(&format!("x{}", ".k[0]".repeat(MAX_JSON_DEPTH / 2)), TOO_DEEP)]);
    assert_eq!(json_depth(&deep.0, 1000), 1001);

    for field in ["default_params", "extra_metadata", "name", "tags", "required_tools", "unknown"] {
        let mut v = Deep(valid());
        v.0[field] = very_deep(200_000);
        let vs = validate_template(&v.0, COMPLETE);
        assert!(vs.iter().filter(|x| x.code == TOO_DEEP).count() == 1, "{field}: {vs:#?}");
        let vs = validate_spec(&v.0, PARTIAL);
        assert!(!vs.is_empty());
    }
}

#[test]
fn check_json_value_generic() {
    let mut out = Vec::new();
    check_json_value(&json!({ "a": [1, 2.5, "s", null, true], "b": { "c": {} } }), "f", &mut out);
    assert!(out.is_empty());
    check_json_value(&json!([9_007_199_254_740_992u64, { "__proto__": -1e300 }]), "", &mut out);
    assert_exactly(&out, &[("[0]", UNSAFE_NUMBER), ("[1].__proto__", FORBIDDEN_KEY), ("[1].__proto__", UNSAFE_NUMBER)]);
    let mut out = Vec::new();
    assert!(!check_json_value_with_depth(&nested(3), "p", 2, &mut out));
    assert_exactly(&out, &[("p.a.a", TOO_DEEP)]);
    assert_eq!(key_path("", "a b"), "[\"a b\"]");
    assert_eq!(key_path("x", "y_z-1$"), "x.y_z-1$");
    assert_eq!(key_path("x", "é"), "x.é");
    assert_eq!(key_path("x", "q\"]"), "x[\"q\\\"]\"]");
    assert_eq!(index_path("x", 7), "x[7]");
}

