//! Issue 10, second look, on the package's native core (shared memory store, users U1/U2):
//! variants of its kinds the first fixes missed.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::strategy::Strategy as _;
use serde_json::{json, Value};
use support::*;
use workflow_templates::catalog::UsageRun;
use workflow_templates::hash::config_hash;
use workflow_templates::WorkflowTemplate;

fn shared(fx: &Fx, user: &str) -> Cat {
    fx.cat(user).shared(true)
}

/// The caller's export with template `id` changed by `f` (hash recomputed).
fn bundle_with(c: &Cat, id: &str, f: impl FnOnce(&mut WorkflowTemplate)) -> Value {
    let mut bundle = ok(block_on(c.export_all()));
    let list = bundle["workflow_templates"].as_array_mut().unwrap();
    let i = list.iter().position(|t| t["id"] == id).expect("in the export");
    let mut t: WorkflowTemplate = serde_json::from_value(list[i].clone()).unwrap();
    f(&mut t);
    t.config_hash = config_hash(&t.config());
    list[i] = t.to_value();
    bundle
}

/// Item 5 / the owner of a public base: an import replacing a base (with no base of its own)
/// is an edit of it, refused like `update` when it would unpublish it under another user's
/// derived template or break that template's configuration; nothing is written.
#[test]
fn an_import_is_held_to_the_rules_of_an_edit_of_a_base_others_derive_from() {
    let fx = Fx::new();
    let (a, b) = (shared(&fx, U1), shared(&fx, U2));
    let p = create(&a, "public base", json!({ "workflow_type": "tools", "required_tools": ["search"], "is_public": true }));
    let q = create(&b, "hidden child", json!({ "workflow_type": "tools", "base_template_id": p.id }));
    let before = fx.stored(&p.id).unwrap();
    for (what, bundle) in [
        ("unpublish", bundle_with(&a, &p.id, |t| t.is_public = false)),
        (
            "break the child's type",
            bundle_with(&a, &p.id, |t| {
                t.workflow_type = workflow_templates::WorkflowType::Plain;
                t.required_tools = Some(vec![]);
            }),
        ),
    ] {
        let e = err(block_on(a.import_all(bundle)));
        assert!(!everything_said(&e).contains(&q.id), "{what}: names B's template: {}", everything_said(&e));
        assert_eq!(fx.stored(&p.id).unwrap().record, before.record, "{what}: the import wrote the base");
    }
    ok(block_on(b.resolve(&q.id)));
}

/// Item 7, the totals: `total_cost` is a total of what was recorded, so it must not depend on
/// the order of the uses, and must be the correctly rounded sum (as `rating` is the correctly
/// rounded mean): ten uses of 0.1 cost 1.0, and 0.1 + 0.2 + 0.3 in any order cost 0.6.
#[test]
fn total_cost_is_the_exact_sum_of_the_recorded_costs_whatever_the_order() {
    let use_ = |cost: f64| UsageRun { success: true, response_time_ms: 1, tokens: 0, cost };
    let fx = Fx::new();
    let a = shared(&fx, U1);
    let t = create(&a, "costly", json!({}));
    for _ in 0..10 {
        ok(block_on(a.record_usage(&t.id, &use_(0.1))));
    }
    assert_eq!(ok(block_on(a.get(&t.id))).total_cost, 1.0, "ten uses of 0.1");
    let mut seen = Vec::new();
    for order in [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]] {
        let t = create(&a, &format!("costs {order:?}"), json!({}));
        for c in order {
            ok(block_on(a.record_usage(&t.id, &use_(c))));
        }
        seen.push(ok(block_on(a.get(&t.id))).total_cost);
    }
    assert_eq!(seen, vec![0.6, 0.6], "the same costs in two orders");
}

/// The oracle of the property below: costs that are whole multiples of 2^-70 (every double in
/// 2^-17..=10^6 is, and so are the usual decimal costs such as 0.1) summed exactly as integers
/// in units of 2^-70, then rounded once (u128 -> f64 rounds to nearest, ties to even).
fn exact_total(costs: &[f64]) -> f64 {
    let unit = 2f64.powi(70);
    let sum: u128 = costs.iter().map(|c| c * unit).inspect(|x| assert_eq!(x.fract(), 0.0)).map(|x| x as u128).sum();
    sum as f64 / unit
}

fn cost() -> impl proptest::strategy::Strategy<Value = f64> {
    use proptest::prelude::*;
    prop_oneof![
        2 => prop::sample::select(vec![0.0, 0.1, 0.2, 0.3, 0.01, 0.07, 1e-5, 1.1, 2.675, 999_999.99, 1_000_000.0]),
        2 => (0.0f64..1.0).prop_filter("a multiple of 2^-70", |c| (c * 2f64.powi(70)).fract() == 0.0),
        1 => (0.0f64..=1_000_000.0).prop_filter("a multiple of 2^-70", |c| (c * 2f64.powi(70)).fract() == 0.0),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Item 7, total_cost: random costs recorded in two random orders give the same total,
    /// the correctly rounded exact sum of the costs.
    #[test]
    fn total_cost_is_the_correctly_rounded_sum_in_any_order(
        (costs, shuffled) in proptest::collection::vec(cost(), 1..24)
            .prop_flat_map(|v| (proptest::strategy::Just(v.clone()), proptest::strategy::Just(v).prop_shuffle()))
    ) {
        let fx = Fx::new();
        let a = shared(&fx, U1);
        let want = exact_total(&costs);
        for (n, order) in [&costs, &shuffled].into_iter().enumerate() {
            let t = create(&a, &format!("order {n}"), json!({}));
            for c in order {
                ok(block_on(a.record_usage(&t.id, &UsageRun { success: true, response_time_ms: 1, tokens: 0, cost: *c })));
            }
            proptest::prop_assert_eq!(ok(block_on(a.get(&t.id))).total_cost, want, "costs {:?}", order);
        }
    }
}
