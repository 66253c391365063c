//! Property tests for `validate`: it never panics on any JSON (arbitrary, deep, wide, or shaped
//! like a record), it reports only declared codes at sensible paths, the generic walk agrees
//! with a naive reference, and every generated valid record passes.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use workflow_templates::hash;
use workflow_templates::model::id::IdGenerator;
use workflow_templates::model::template::{TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE};
use workflow_templates::model::time::format_ms;
use workflow_templates::model::{TemplateCategory, TemplateSpec, WorkflowTemplate, WorkflowType, MAX_SAFE_INTEGER};
use workflow_templates::validate::{self, Options, VIOLATION_CODES};
use workflow_templates::Violation;

const ALL_OPTIONS: [Options; 4] = [
    Options { complete: false, allow_builtin: false },
    Options { complete: true, allow_builtin: false },
    Options { complete: false, allow_builtin: true },
    Options { complete: true, allow_builtin: true },
];
const COMPLETE: Options = Options { complete: true, allow_builtin: false };
const PARTIAL: Options = Options { complete: false, allow_builtin: false };
const MAX_TIMESTAMP_MS: i64 = 253_402_300_799_999;

// ---- strategies: arbitrary JSON ------------------------------------------------------------

fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,12}",
        1 => "(?s).{0,12}",
        1 => prop::sample::select(vec![
            "", " ", "__proto__", "plain", "tools", "rag", "full", "custom", "general",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01arz3ndektsv4rrffq69g5fav", "2026-01-01T00:00:00Z",
            "2026-13-01T00:00:00Z", "a\nb", "\u{FEFF}x", "x ", "ticket_lookup", "ΣΑΣ", "😀", "nul\u{0}",
        ])
        .prop_map(String::from),
        1 => "[0-9a-f]{64}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z_]{1,8}",
        1 => interesting_string(),
        1 => prop::sample::select(columns()).prop_map(String::from),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-2_000i64..2_000).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-10.0f64..10.0).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec![MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 0, 1, 5, 64]).prop_map(Value::from),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        interesting_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn columns() -> Vec<&'static str> {
    let mut c: Vec<&'static str> = validate::template_columns().chain(validate::spec_columns()).collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// Objects whose keys are mostly real column names, with values of any shape.
fn record_shaped() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        2 => arb_json(),
        3 => interesting_string().prop_map(Value::String),
        2 => number(),
        1 => prop::collection::vec(prop_oneof!["[a-z_]{0,4}", "[A-Z ]{0,3}"].prop_map(Value::String), 0..70).prop_map(Value::Array),
    ];
    prop::collection::btree_map(key(), value, 0..24).prop_map(|m| Value::Object(m.into_iter().collect()))
}

// ---- strategies: valid records ---------------------------------------------------------------

fn id() -> impl Strategy<Value = String> {
    (0u64..(1 << 48), any::<u128>(), any::<bool>()).prop_map(|(ms, r, lower)| {
        let id = IdGenerator::new().next(ms, r);
        if lower {
            id.to_lowercase()
        } else {
            id
        }
    })
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9éü😀]([A-Za-z0-9 _.éü😀'-]{0,40}[A-Za-z0-9éü😀])?"
}

fn resource_names(min: usize) -> impl Strategy<Value = Option<Vec<String>>> {
    prop::collection::btree_set("[A-Za-z0-9][A-Za-z0-9_.:/-]{0,20}", min..6).prop_flat_map(
        move |s: BTreeSet<String>| {
            let v: Vec<String> = s.into_iter().collect();
            let empty = v.is_empty();
            // Emitted in any order; null or [] when empty.
            (Just(v).prop_shuffle(), any::<bool>())
                .prop_map(move |(v, null)| if empty && null { None } else { Some(v) })
        },
    )
}

fn tags() -> impl Strategy<Value = Option<Vec<String>>> {
    prop::option::of(prop::collection::vec("[A-Za-zÄäΣσ0-9]([A-Za-zÄäΣσ0-9 _-]{0,30}[A-Za-zÄäΣσ0-9])?", 0..40))
        .prop_map(|t| {
            t.map(|t| {
                let mut seen = HashSet::new();
                t.into_iter().filter(|s| seen.insert(s.to_lowercase())).take(32).collect()
            })
        })
}

fn safe_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(MAX_SAFE_INTEGER as i64)..=MAX_SAFE_INTEGER as i64).prop_map(Value::from),
        (-1e15f64..1e15).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            safe_map(inner).prop_map(Value::Object),
        ]
    })
}

fn safe_map(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-zA-Z0-9_. -]{0,10}".prop_filter("no __proto__", |k| k != "__proto__"), inner, 0..6)
        .prop_map(|m| m.into_iter().collect())
}

fn workflow_type() -> impl Strategy<Value = WorkflowType> {
    prop::sample::select(WorkflowType::ALL.to_vec())
}

fn category() -> impl Strategy<Value = TemplateCategory> {
    prop::sample::select(TemplateCategory::ALL.to_vec())
}

/// Tools and retrievers consistent with the type (or anything at all when there is a base).
fn config_lists(wt: WorkflowType, has_base: bool) -> impl Strategy<Value = (Option<Vec<String>>, Option<Vec<String>>)> {
    let (nt, nr) = wt.needs();
    let tools = if has_base {
        resource_names(0).boxed()
    } else if nt {
        resource_names(1).boxed()
    } else {
        resource_names(0).prop_map(|_| None).boxed()
    };
    let retr = if has_base {
        resource_names(0).boxed()
    } else if nr {
        resource_names(1).boxed()
    } else {
        Just(Some(vec![])).boxed()
    };
    (tools, retr)
}

fn timestamps() -> impl Strategy<Value = (String, String, Option<String>)> {
    (0..MAX_TIMESTAMP_MS / 2, 0..MAX_TIMESTAMP_MS / 2, prop::option::of(0..MAX_TIMESTAMP_MS))
        .prop_map(|(c, d, l)| (format_ms(c), format_ms(c + d), l.map(format_ms)))
}

/// rating, rating_count, usage_count, success_rate, avg_response_time_ms, total_tokens_used,
/// total_cost, avg_tokens_per_use.
type Stats = (Option<f64>, u64, u64, Option<f64>, Option<u64>, u64, f64, Option<f64>);

fn stats() -> impl Strategy<Value = Stats> {
    (
        prop_oneof![Just(0u64), 1..=MAX_SAFE_INTEGER],
        0.0f64..=5.0,
        0..=MAX_SAFE_INTEGER,
        prop::option::of(0.0f64..=1.0),
        prop::option::of(0..=MAX_SAFE_INTEGER),
        0..=MAX_SAFE_INTEGER,
        0.0f64..1e15,
        prop::option::of(0.0f64..1e15),
    )
        .prop_map(|(rc, r, uc, sr, rt, tt, cost, avg)| {
            (if rc == 0 { None } else { Some(r) }, rc, uc, sr, rt, tt, cost, avg)
        })
}

fn valid_template() -> impl Strategy<Value = WorkflowTemplate> {
    (workflow_type(), any::<bool>())
        .prop_flat_map(|(wt, has_base)| {
            let ids = (
                id(),
                id(),
                prop::option::of(id()).prop_map(move |b| {
                    if has_base {
                        b.or(Some("01ARZ3NDEKTSV4RRFFQ69G5FAV".into()))
                    } else {
                        None
                    }
                }),
            );
            // Any text but U+0000, which no record may hold (validate/mod.rs).
            let text = (name(), "[^\\x00]{0,60}", category(), prop::option::of("[^\\x00]{0,30}"), tags());
            let json = (safe_map(safe_json()), prop::option::of(safe_map(safe_json())));
            let misc = (1..=MAX_SAFE_INTEGER, any::<bool>(), any::<bool>(), prop::option::of(0..=MAX_SAFE_INTEGER));
            (Just(wt), ids, config_lists(wt, has_base), text, json, misc, timestamps(), stats())
        })
        .prop_map(
            |(
                wt,
                (id, owner, base),
                (tools, retrievers),
                (name, description, category, changelog, tags),
                (params, meta),
                (version, latest, public, complexity),
                (created, updated, last_used),
                st,
            )| {
                let mut t = WorkflowTemplate {
                    id,
                    created_at: created,
                    updated_at: updated,
                    owner_id: owner,
                    name,
                    description,
                    workflow_type: wt,
                    category,
                    default_params: params,
                    required_tools: tools,
                    required_retrievers: retrievers,
                    base_template_id: base,
                    is_builtin: false,
                    version,
                    is_latest: latest,
                    changelog,
                    is_public: public,
                    rating: st.0,
                    rating_count: st.1,
                    usage_count: st.2,
                    success_rate: st.3,
                    avg_response_time_ms: st.4,
                    last_used_at: last_used,
                    total_tokens_used: st.5,
                    total_cost: st.6,
                    avg_tokens_per_use: st.7,
                    tags,
                    extra_metadata: meta,
                    config_hash: String::new(),
                    estimated_complexity: complexity,
                };
                // The hash is over the normalised (uppercase) base id.
                let base = t.base_template_id.as_deref().map(str::to_uppercase);
                t.config_hash =
                    hash::config_hash(&hash::ConfigParts { base_template_id: base.as_deref(), ..t.config() });
                t
            },
        )
}

fn valid_spec() -> impl Strategy<Value = TemplateSpec> {
    (workflow_type(), any::<bool>())
        .prop_flat_map(|(wt, has_base)| {
            (
                Just(wt),
                (id(), id()),
                config_lists(wt, has_base),
                (
                    name(),
                    "[^\\x00]{0,60}",
                    tags(),
                    if has_base { name().prop_map(Some).boxed() } else { Just(None).boxed() },
                ),
                (safe_map(safe_json()), prop::option::of(safe_map(safe_json()))),
                timestamps(),
                0..=MAX_SAFE_INTEGER,
            )
        })
        .prop_map(
            |(wt, (id, owner), (tools, retrievers), (name, description, tags, base), (params, meta), (c, u, l), uc)| {
                TemplateSpec {
                    id,
                    created_at: c,
                    updated_at: u,
                    owner_id: owner,
                    name,
                    description,
                    workflow_type: wt,
                    default_params: params,
                    required_tools: tools,
                    required_retrievers: retrievers,
                    base_template_name: base,
                    usage_count: uc,
                    last_used_at: l,
                    tags,
                    extra_metadata: meta,
                }
            },
        )
}

// ---- helpers ---------------------------------------------------------------------------------

/// The top-level field a path starts with (a quoted key is a JSON string in brackets).
fn top(field: &str) -> String {
    if let Some(rest) = field.strip_prefix('[') {
        if let Some(Ok(s)) = serde_json::Deserializer::from_str(rest).into_iter::<String>().next() {
            return s;
        }
    }
    let end = field.find(['.', '[']).unwrap_or(field.len());
    field[..end].to_string()
}

fn check_shape(input: &Value, vs: &[Violation]) -> Result<(), TestCaseError> {
    for v in vs {
        prop_assert!(VIOLATION_CODES.contains(&v.code.as_str()), "undeclared code {}", v.code);
        prop_assert!(!v.message.is_empty());
    }
    match input.as_object() {
        None => {
            prop_assert_eq!(vs.len(), 1);
            prop_assert_eq!(vs[0].field.as_str(), "");
            prop_assert_eq!(vs[0].code.as_str(), validate::TYPE);
        }
        Some(o) => {
            for v in vs {
                let t = top(&v.field);
                prop_assert!(
                    o.contains_key(&t) || columns().contains(&t.as_str()),
                    "path {} outside the record",
                    v.field
                );
            }
        }
    }
    Ok(())
}

/// Naive recursive reference for the generic checks (fine on the small values generated here):
/// (unsafe numbers, `__proto__` keys, depth, strings and keys holding U+0000).
fn reference_counts(v: &Value) -> (usize, usize, usize, usize) {
    let nul = |s: &str| usize::from(s.contains('\0'));
    match v {
        Value::Number(n) => (usize::from(validate::is_unsafe_number(n)), 0, 0, 0),
        Value::String(s) => (0, 0, 0, nul(s)),
        Value::Array(a) => a
            .iter()
            .map(reference_counts)
            .fold((0, 0, 1, 0), |(u, f, d, z), (u2, f2, d2, z2)| (u + u2, f + f2, d.max(d2 + 1), z + z2)),
        Value::Object(m) => m.iter().fold((0, 0, 1, 0), |(u, f, d, z), (k, x)| {
            let (u2, f2, d2, z2) = reference_counts(x);
            (u + u2, f + f2 + usize::from(k == "__proto__"), d.max(d2 + 1), z + z2 + nul(k))
        }),
        _ => (0, 0, 0, 0),
    }
}

fn deep_value(depth: usize, width: usize, proto: bool) -> Value {
    let mut v = Value::from(1);
    for i in 0..depth {
        v = if i % 2 == 0 {
            let mut items = vec![Value::from(i as u64); width];
            items.push(v);
            Value::Array(items)
        } else {
            let mut m = Map::new();
            if proto {
                m.insert("__proto__".into(), Value::Null);
            }
            m.insert("k".into(), v);
            Value::Object(m)
        };
    }
    v
}

// ---- properties ------------------------------------------------------------------------------

proptest! {
    #[test]
    fn never_panics_on_arbitrary_json(v in arb_json()) {
        for opts in ALL_OPTIONS {
            check_shape(&v, &validate::validate_template(&v, opts))?;
            check_shape(&v, &validate::validate_spec(&v, opts))?;
        }
        let mut out = Vec::new();
        validate::check_json_value(&v, "x", &mut out);
        if let Some(o) = v.as_object() {
            validate::check_writable(o, TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE, &mut out);
        }
    }

    #[test]
    fn never_panics_on_record_shaped_objects(v in record_shaped()) {
        for opts in ALL_OPTIONS {
            check_shape(&v, &validate::validate_template(&v, opts))?;
            check_shape(&v, &validate::validate_spec(&v, opts))?;
        }
    }

    #[test]
    fn generic_walk_matches_reference(v in arb_json()) {
        let (unsafe_numbers, protos, depth, nuls) = reference_counts(&v);
        let mut out = Vec::new();
        validate::check_json_value(&v, "f", &mut out);
        let count = |code: &str| out.iter().filter(|x| x.code == code).count();
        prop_assert_eq!(count(validate::UNSAFE_NUMBER), unsafe_numbers);
        prop_assert_eq!(count(validate::FORBIDDEN_KEY), protos);
        prop_assert_eq!(count(validate::CONTROL_CHAR), nuls);
        prop_assert_eq!(count(validate::TOO_DEEP), 0);
        prop_assert_eq!(validate::json_depth(&v, 1000), depth);
        prop_assert!(out.iter().all(|x| x.field.starts_with('f')));
        let mut out = Vec::new();
        let shallow = validate::check_json_value_with_depth(&v, "f", 2, &mut out);
        prop_assert_eq!(shallow, depth <= 2);
        prop_assert_eq!(out.iter().filter(|x| x.code == validate::TOO_DEEP).count(), usize::from(depth > 2));
    }

    #[test]
    fn deep_and_wide_values_are_bounded(depth in 0usize..400, width in 0usize..200, proto in any::<bool>(), field in prop::sample::select(vec!["default_params", "extra_metadata", "name", "tags", "zzz"])) {
        let mut rec = serde_json::json!({ "name": "x", "workflow_type": "plain" });
        rec[field] = deep_value(depth, width, proto);
        for opts in ALL_OPTIONS {
            let vs = validate::validate_template(&rec, opts);
            check_shape(&rec, &vs)?;
            let too_deep = vs.iter().filter(|v| v.code == validate::TOO_DEEP).count();
            let bound = if field == "default_params" { validate::MAX_PARAMS_DEPTH } else { validate::MAX_JSON_DEPTH };
            prop_assert_eq!(too_deep, usize::from(depth > bound));
            check_shape(&rec, &validate::validate_spec(&rec, opts))?;
        }
    }

    #[test]
    fn valid_templates_pass(t in valid_template()) {
        let v = serde_json::to_value(&t).expect("serialises");
        let vs = validate::validate_template(&v, COMPLETE);
        prop_assert!(vs.is_empty(), "{:#?}\n{}", vs, v);
        prop_assert!(validate::validate_template(&v, PARTIAL).is_empty());
        // The writable part alone is a valid create payload.
        let mut payload = v.as_object().cloned().unwrap_or_default();
        payload.retain(|k, _| TEMPLATE_WRITABLE.contains(&k.as_str()));
        let mut out = Vec::new();
        validate::check_writable(&payload, TEMPLATE_READ_ONLY, TEMPLATE_WRITABLE, &mut out);
        prop_assert!(out.is_empty());
        let vs = validate::validate_template(&Value::Object(payload), PARTIAL);
        prop_assert!(vs.is_empty(), "{:#?}", vs);
        // A user record may not claim to be built in; the registry may.
        let mut b = v.clone();
        b["is_builtin"] = Value::Bool(true);
        let registry = Options { complete: true, allow_builtin: true };
        prop_assert!(validate::validate_template(&b, registry).is_empty());
        let vs = validate::validate_template(&b, COMPLETE);
        prop_assert_eq!(vs.len(), 1);
        prop_assert_eq!(vs[0].code.as_str(), validate::BUILTIN_CLAIM);
    }

    #[test]
    fn broken_column_is_reported_at_its_path(t in valid_template(), col in prop::sample::select(validate::template_columns().collect::<Vec<_>>()), remove in any::<bool>()) {
        let mut v = serde_json::to_value(&t).expect("serialises");
        let o = v.as_object_mut().expect("object");
        if remove {
            o.remove(col);
        } else {
            // A value no column accepts: an object for most, a string for the JSON columns.
            let bad = if col == "default_params" || col == "extra_metadata" { Value::from("{}") } else { serde_json::json!({ "x": [1] }) };
            o.insert(col.to_string(), bad);
        }
        let vs = validate::validate_template(&v, COMPLETE);
        let code = if remove { validate::REQUIRED } else { validate::TYPE };
        prop_assert!(vs.iter().any(|x| x.field == col && x.code == code), "{} {:#?}", col, vs);
        // Nothing unrelated is reported beyond what the broken column explains.
        for x in &vs {
            prop_assert!(
                x.field == col || x.code == validate::HASH_MISMATCH || x.code == validate::WORKFLOW_TYPE_MISMATCH || x.code == validate::INCONSISTENT,
                "{:#?}", vs
            );
        }
    }

    #[test]
    fn valid_specs_pass(s in valid_spec()) {
        let v = serde_json::to_value(&s).expect("serialises");
        let vs = validate::validate_spec(&v, COMPLETE);
        prop_assert!(vs.is_empty(), "{:#?}\n{}", vs, v);
        prop_assert!(validate::validate_spec(&v, PARTIAL).is_empty());
    }
}
