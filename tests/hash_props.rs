//! Property tests for `hash` (SPEC section 4): canonical JSON and config_hash invariants.
//! proptest is a native-only dev-dependency, so this file is empty on wasm32.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Number, Value};
use workflow_templates::hash::{
    canonical_json, canonical_len, config_hash, config_value, is_hash, sha256_hex, ConfigParts,
};
use workflow_templates::model::WorkflowType;

// ---- strategies --------------------------------------------------------------------------------

/// Characters that stress canonicalisation: ASCII letters of both cases, C0 controls, DEL,
/// escapes, private use / high BMP (sorts after surrogates in UTF-16), astral (emoji), and
/// combining marks; plus any char at all.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'e'),
        2 => prop::char::range('A', 'E'),
        1 => prop::char::range('\u{0}', '\u{1f}'),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{7f}', ' ', '\u{2028}', '\u{2029}', '\u{301}', '\u{e9}']),
        1 => prop::char::range('\u{e000}', '\u{e002}'),
        1 => prop::sample::select(vec!['\u{ff21}', '\u{fb01}', '\u{fffd}', '\u{feff}', '\u{20ac}']),
        1 => prop::sample::select(vec!['\u{1f600}', '\u{1f601}', '\u{10000}', '\u{1d11e}', '\u{10ffff}']),
        1 => any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..6).prop_map(|cs| cs.into_iter().collect())
}

fn number() -> impl Strategy<Value = Value> {
    let finite = any::<f64>().prop_filter("finite", |x| x.is_finite());
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        finite.prop_map(|x| Value::Number(Number::from_f64(x).expect("finite"))),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.1,
            0.2,
            0.30000000000000004,
            1e21,
            1e20,
            9.999999999999999e20,
            1e-7,
            1e-6,
            5e-324,
            1.7976931348623157e308,
            -1.7976931348623157e308,
            9007199254740993.0,
            1e23,
        ])
        .prop_map(|x| Value::Number(Number::from_f64(x).expect("finite"))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(tricky_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

type Entries = Vec<(String, Value)>;

/// Entries with unique keys, and the same entries in a shuffled order.
fn entries_and_shuffle() -> impl Strategy<Value = (Entries, Entries)> {
    prop::collection::btree_map(tricky_string(), json_value(), 0..8)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
        .prop_flat_map(|entries| {
            let shuffled = Just(entries.clone()).prop_shuffle();
            (Just(entries), shuffled)
        })
}

fn workflow_type() -> impl Strategy<Value = WorkflowType> {
    prop::sample::select(WorkflowType::ALL.to_vec())
}

fn name_list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(tricky_string(), 0..6)
}

fn params() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(tricky_string(), json_value(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

fn base_id() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof!["[0-9A-HJKMNP-TV-Z]{26}", tricky_string()])
}

// ---- helpers -----------------------------------------------------------------------------------

/// Equality in the RFC 8785 data model: numbers are IEEE doubles (so 100 == 100.0, -0 == 0,
/// and u64::MAX equals the double it rounds to); everything else structurally.
fn jcs_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| jcs_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| jcs_eq(v, w)))
        }
        _ => a == b,
    }
}

/// JSON object text with members in exactly the given order (independent of Map's ordering).
fn object_text(entries: &[(String, Value)]) -> String {
    let members: Vec<String> = entries
        .iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                serde_json::to_string(k).unwrap(),
                serde_json::to_string(v).unwrap()
            )
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

fn hash_of(
    t: WorkflowType,
    params: &Map<String, Value>,
    tools: &[String],
    retrievers: &[String],
    base: Option<&str>,
) -> String {
    config_hash(&ConfigParts {
        workflow_type: t,
        default_params: params,
        required_tools: tools,
        required_retrievers: retrievers,
        base_template_id: base,
    })
}

// ---- properties --------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Our streaming canonicaliser writes exactly what an independent RFC 8785 implementation
    /// (the serde_json_canonicalizer crate) writes, and counts exactly its length.
    #[test]
    fn canonical_text_equals_an_independent_implementation(v in json_value()) {
        let ours = canonical_json(&v);
        let theirs = serde_json_canonicalizer::to_string(&v).expect("the oracle canonicalises any Value");
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(canonical_len(&v), ours.len());
    }

    /// The hash streamed from the parts equals SHA-256 of the oracle's canonical text of the
    /// configuration object.
    #[test]
    fn config_hash_equals_oracle(p in params(), tools in prop::collection::vec(tricky_string(), 0..5), base in proptest::option::of(tricky_string())) {
        let parts = ConfigParts {
            workflow_type: WorkflowType::Full,
            default_params: &p,
            required_tools: &tools,
            required_retrievers: &[],
            base_template_id: base.as_deref(),
        };
        let text = serde_json_canonicalizer::to_string(&config_value(&parts)).expect("canonical");
        prop_assert_eq!(config_hash(&parts), sha256_hex(text.as_bytes()));
    }

    /// The same object built with members inserted in a different order canonicalises (and
    /// hashes) identically, both as a Map and when parsed from text in that order.
    #[test]
    fn canonical_invariant_under_key_insertion_order((entries, shuffled) in entries_and_shuffle()) {
        let mut a = Map::new();
        for (k, v) in &entries { a.insert(k.clone(), v.clone()); }
        let mut b = Map::new();
        for (k, v) in &shuffled { b.insert(k.clone(), v.clone()); }
        let ca = canonical_json(&Value::Object(a));
        let cb = canonical_json(&Value::Object(b));
        prop_assert_eq!(&ca, &cb);
        let from_text_a: Value = serde_json::from_str(&object_text(&entries)).unwrap();
        let from_text_b: Value = serde_json::from_str(&object_text(&shuffled)).unwrap();
        prop_assert_eq!(&canonical_json(&from_text_a), &ca);
        prop_assert_eq!(&canonical_json(&from_text_b), &ca);
    }

    /// config_hash does not depend on the insertion order of default_params.
    #[test]
    fn config_hash_invariant_under_param_order(
        (entries, shuffled) in entries_and_shuffle(),
        t in workflow_type(),
        tools in name_list(),
        base in base_id(),
    ) {
        let a: Map<String, Value> = entries.into_iter().collect();
        let b: Map<String, Value> = shuffled.into_iter().collect();
        prop_assert_eq!(
            hash_of(t, &a, &tools, &[], base.as_deref()),
            hash_of(t, &b, &tools, &[], base.as_deref())
        );
    }

    /// config_hash does not depend on the order of required_tools / required_retrievers.
    #[test]
    fn config_hash_invariant_under_list_order(
        (tools, tools_shuffled) in name_list().prop_flat_map(|l| (Just(l.clone()), Just(l).prop_shuffle())),
        (retr, retr_shuffled) in name_list().prop_flat_map(|l| (Just(l.clone()), Just(l).prop_shuffle())),
        t in workflow_type(),
        p in params(),
        base in base_id(),
    ) {
        let h = hash_of(t, &p, &tools, &retr, base.as_deref());
        prop_assert!(is_hash(&h), "not a hash: {}", h);
        prop_assert_eq!(&h, &hash_of(t, &p, &tools_shuffled, &retr_shuffled, base.as_deref()));
        prop_assert_eq!(&h, &hash_of(t, &p, &tools_shuffled, &retr, base.as_deref()));
        prop_assert_eq!(&h, &hash_of(t, &p, &tools, &retr_shuffled, base.as_deref()));
        // ... and it is exactly sha256 of the canonical text of config_value.
        let parts = ConfigParts {
            workflow_type: t,
            default_params: &p,
            required_tools: &tools,
            required_retrievers: &retr,
            base_template_id: base.as_deref(),
        };
        prop_assert_eq!(&h, &sha256_hex(canonical_json(&config_value(&parts)).as_bytes()));
    }

    /// Changing only the workflow type changes the hash.
    #[test]
    fn config_hash_differs_by_workflow_type(
        i in any::<Index>(),
        j in 1usize..WorkflowType::ALL.len(),
        p in params(),
        tools in name_list(),
        retr in name_list(),
        base in base_id(),
    ) {
        let n = WorkflowType::ALL.len();
        let a = WorkflowType::ALL[i.index(n)];
        let b = WorkflowType::ALL[(i.index(n) + j) % n];
        prop_assert_ne!(a, b);
        prop_assert_ne!(
            hash_of(a, &p, &tools, &retr, base.as_deref()),
            hash_of(b, &p, &tools, &retr, base.as_deref())
        );
    }

    /// Canonical text is valid JSON that parses back to an equal value (numbers compared as
    /// doubles, which is RFC 8785's data model).
    #[test]
    fn canonical_reparses_to_equal_value(v in json_value()) {
        let text = canonical_json(&v);
        let back: Value = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("canonical text {text:?} does not parse: {e}")))?;
        prop_assert!(jcs_eq(&v, &back), "value {:?}\ncanonical {:?}\nreparsed {:?}", v, text, back);
    }

    /// Canonicalisation is idempotent: the canonical text is a fixed point.
    #[test]
    fn canonical_is_idempotent(v in json_value()) {
        let once = canonical_json(&v);
        let back: Value = serde_json::from_str(&once).unwrap();
        prop_assert_eq!(&canonical_json(&back), &once);
    }

    /// Whitespace and formatting of the source text do not matter.
    #[test]
    fn canonical_ignores_formatting(v in json_value()) {
        let pretty: Value = serde_json::from_str(&serde_json::to_string_pretty(&v).unwrap()).unwrap();
        prop_assert_eq!(canonical_json(&pretty), canonical_json(&v));
    }
}
