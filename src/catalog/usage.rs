//! Usage statistics and ratings (SPEC section 9). Each is a read-modify-write guarded by the
//! stored revision and retried on CONFLICT, so concurrent writers never lose an increment.
//! Statistics do not move `updated_at` (that tracks edits, and is the `ifMatch` token: a usage
//! recorded elsewhere must not invalidate an editor's copy).

use serde_json::Value;

use super::retry::{retry_on_conflict, STATS_ATTEMPTS};
use super::{violations, Catalog, Env, Loaded};
use crate::error::{Error, Result, Violation};
use crate::model::{UsageStats, MAX_SAFE_INTEGER};
use crate::store::{Expect, Rating, Store, UsageTotals, Write};
use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageRun {
    pub success: bool,
    pub response_time_ms: u64,
    pub tokens: u64,
    pub cost: f64,
}

/// Per-run bounds (no real run reaches them): a day of response time, 10^8 tokens, a cost of
/// 10^6. They keep one request from pushing a shared total to its 2^53-1 bound (which would
/// refuse every later use of a public template or built-in for everyone): reaching it now
/// takes on the order of 10^8 recorded uses.
pub const MAX_RUN_RESPONSE_TIME_MS: u64 = 86_400_000;
pub const MAX_RUN_TOKENS: u64 = 100_000_000;
pub const MAX_RUN_COST: f64 = 1_000_000.0;
/// [`MAX_RUN_COST`] as its message prints it: written out, so no `f64` goes through `Display`
/// (14 KB of wasm; `tests::cost_bound_text_is_the_bound`).
const MAX_RUN_COST_TEXT: &str = "1000000";

fn uint(v: Option<&Value>, field: &str, required: bool, max: u64, out: &mut Vec<Violation>) -> u64 {
    match v {
        None | Some(Value::Null) if !required => 0,
        None | Some(Value::Null) => {
            out.push(Violation::new(field, validate::REQUIRED, format!("{field} is required")));
            0
        }
        Some(n) => match n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64)) {
            Some(x) if x <= max => x,
            _ => {
                out.push(Violation::new(field, validate::OUT_OF_RANGE, format!("{field} must be an integer in 0..={max}")));
                0
            }
        },
    }
}

impl UsageRun {
    /// Reads `{ success, responseTimeMs, tokens?, cost? }`.
    pub fn from_value(v: &Value) -> Result<Self> {
        let Some(m) = v.as_object() else {
            return Err(violations(vec![Violation::new("", validate::TYPE, "a usage run must be an object")]));
        };
        let mut out = Vec::new();
        for k in m.keys() {
            if !["success", "responseTimeMs", "tokens", "cost"].contains(&k.as_str()) {
                out.push(Violation::new(k.clone(), validate::UNKNOWN_FIELD, format!("unknown field {}", crate::validate::quoted(k))));
            }
        }
        let success = match m.get("success") {
            Some(Value::Bool(b)) => *b,
            _ => {
                out.push(Violation::new("success", validate::TYPE, "success must be a boolean"));
                false
            }
        };
        let response_time_ms = uint(m.get("responseTimeMs"), "responseTimeMs", true, MAX_RUN_RESPONSE_TIME_MS, &mut out);
        let tokens = uint(m.get("tokens"), "tokens", false, MAX_RUN_TOKENS, &mut out);
        let cost = match m.get("cost") {
            None | Some(Value::Null) => 0.0,
            Some(c) => match c.as_f64() {
                Some(x) if x.is_finite() && (0.0..=MAX_RUN_COST).contains(&x) => x,
                _ => {
                    out.push(Violation::new("cost", validate::OUT_OF_RANGE, ["cost must be a number in 0..=", MAX_RUN_COST_TEXT].concat()));
                    0.0
                }
            },
        };
        if !out.is_empty() {
            return Err(violations(out));
        }
        Ok(UsageRun { success, response_time_ms, tokens, cost })
    }
}

/// The coded error of every statistics bound (SPEC section 2: counters and totals stay in
/// 0..=2^53-1); the write is refused and nothing changes.
fn over_bound(what: &str) -> Error {
    Error::invalid(format!("{what} would exceed 2^53-1"))
}

/// The exact sums of `s`, from `stored` when they belong to this state of the statistics, else
/// derived from the record (a template from before sums were kept, or restored by an import):
/// the success count exactly (`round(success_rate * n)`, exact while n < 2^51), the response
/// time as `avg * n`, the cost as `total_cost`. From the next use on, the sums are exact.
pub fn totals_of(id: &str, s: &UsageStats, stored: Option<&UsageTotals>) -> UsageTotals {
    let cost_of = |t: Option<&UsageTotals>| {
        let kept = t.and_then(|t| t.cost_sum.as_deref()).and_then(ExactSum::from_partials);
        let kept = kept.filter(|c| c.value() == s.total_cost);
        Some(kept.unwrap_or_else(|| ExactSum::from_partials(&[s.total_cost]).unwrap_or_default()).into_partials())
    };
    if let Some(t) = stored {
        let fresh = t.usage_count == s.usage_count && t.successes <= t.usage_count && derived(t) == (s.success_rate, s.avg_response_time_ms);
        if fresh && t.id == id {
            return UsageTotals { cost_sum: cost_of(Some(t)), ..t.clone() };
        }
    }
    let n = s.usage_count;
    let successes = ((s.success_rate.unwrap_or(0.0) * n as f64).round() as u64).min(n);
    let response_time_ms = s.avg_response_time_ms.unwrap_or(0).saturating_mul(n).min(MAX_SAFE_INTEGER);
    UsageTotals { id: id.to_string(), usage_count: n, successes, response_time_ms, cost_sum: cost_of(None) }
}

/// success_rate and avg_response_time_ms from the sums: each one division of exact integers
/// (the average rounded half up to whole milliseconds, in integer arithmetic).
fn derived(t: &UsageTotals) -> (Option<f64>, Option<u64>) {
    if t.usage_count == 0 {
        return (None, None);
    }
    let n = t.usage_count as u128;
    let avg = (2 * t.response_time_ms as u128 + n) / (2 * n);
    (Some(t.successes as f64 / t.usage_count as f64), Some(avg as u64))
}

/// Adds one run to the statistics and their exact sums: counters and totals add up;
/// success_rate, the average response time (rounded to whole ms) and tokens per use are the
/// means of every recorded use, computed from the sums; total_cost is the correctly rounded
/// sum of every recorded cost (whatever their order).
pub fn add_usage(s: &mut UsageStats, totals: &mut UsageTotals, run: &UsageRun, now: &str) -> Result<()> {
    let bounded = |x: Option<u64>| x.filter(|n| *n <= MAX_SAFE_INTEGER);
    let n = bounded(s.usage_count.checked_add(1));
    let tokens = bounded(s.total_tokens_used.checked_add(run.tokens));
    let response = bounded(totals.response_time_ms.checked_add(run.response_time_ms));
    let (Some(n), Some(tokens), Some(response)) = (n, tokens, response) else {
        return Err(over_bound("usage counters"));
    };
    let mut cost = totals.cost_sum.as_deref().and_then(ExactSum::from_partials).unwrap_or_default();
    cost.add(run.cost);
    let total_cost = cost.value();
    if !total_cost.is_finite() || total_cost > MAX_SAFE_INTEGER as f64 {
        return Err(over_bound("total_cost"));
    }
    totals.cost_sum = Some(cost.into_partials());
    totals.usage_count = n;
    totals.successes += u64::from(run.success);
    totals.response_time_ms = response;
    (s.success_rate, s.avg_response_time_ms) = derived(totals);
    s.total_tokens_used = tokens;
    s.total_cost = total_cost;
    s.avg_tokens_per_use = Some(tokens as f64 / n as f64);
    s.usage_count = n;
    s.last_used_at = Some(now.to_string());
    Ok(())
}

/// Whether a stored rating row holds a rating (stars in 0..=5); other rows are not counted.
pub(crate) fn counts(stars: f64) -> bool {
    stars.is_finite() && (0.0..=5.0).contains(&stars)
}

/// An exact sum of finite doubles: Shewchuk's non-overlapping partials ("Adaptive Precision
/// Floating-Point Arithmetic", 1997), the accumulator behind Python's `math.fsum`. `value` is
/// the correctly rounded (half to even) sum, whatever the order of the additions. For the
/// non-negative, bounded numbers added here (costs, stars) the partials stay few (at most one
/// per 53-bit slice of the exponent range) and finite. Written here rather than taken from a
/// crate: the registry could not be searched from this machine, and the algorithm is short.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExactSum {
    /// Non-overlapping, in increasing magnitude, none zero.
    partials: Vec<f64>,
}

/// More partials than any sum of finite doubles can need (2098 exponent bits / 53 + slack).
const MAX_PARTIALS: usize = 64;

impl ExactSum {
    /// The sum kept as `partials` (as stored); `None` when they are not a kept sum (a value that
    /// is not finite, or too many), so the caller derives it again.
    pub fn from_partials(partials: &[f64]) -> Option<Self> {
        if partials.len() > MAX_PARTIALS || partials.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut s = ExactSum::default();
        for &x in partials {
            s.add(x);
        }
        s.value().is_finite().then_some(s)
    }

    pub fn into_partials(self) -> Vec<f64> {
        self.partials
    }

    /// Adds `x` exactly (a finite double).
    pub fn add(&mut self, mut x: f64) {
        let mut i = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        self.partials.truncate(i);
        if x != 0.0 {
            self.partials.push(x);
        }
    }

    /// The correctly rounded sum (`math.fsum`'s final step).
    pub fn value(&self) -> f64 {
        let mut partials = self.partials.clone();
        let Some(mut hi) = partials.pop() else { return 0.0 };
        let mut lo = 0.0;
        while let Some(y) = partials.pop() {
            let x = hi;
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Round half to even across the remaining partials.
        if let Some(&next) = partials.last() {
            if (lo < 0.0 && next < 0.0) || (lo > 0.0 && next > 0.0) {
                let y = lo * 2.0;
                let x = hi + y;
                if y == x - hi {
                    hi = x;
                }
            }
        }
        hi
    }
}

/// The correctly rounded sum of finite numbers, whatever their order.
pub(crate) fn exact_sum(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = ExactSum::default();
    for x in xs {
        s.add(x);
    }
    s.value()
}

/// `rating` and `rating_count` as the stored ratings say: their number, and the exact sum of
/// their stars divided once (so seven ratings of 4 give exactly 4). Rows whose stars are not a
/// rating are left out.
pub fn rating_aggregate(stars: &[f64]) -> Result<(Option<f64>, u64)> {
    let counted: Vec<f64> = stars.iter().copied().filter(|s| counts(*s)).collect();
    let n = counted.len() as u64;
    if n > MAX_SAFE_INTEGER {
        return Err(over_bound("rating_count"));
    }
    if n == 0 {
        return Ok((None, 0));
    }
    Ok((Some((exact_sum(counted) / n as f64).clamp(0.0, 5.0)), n))
}

impl<S: Store, E: Env> Catalog<S, E> {
    fn stats_write(&self, loaded: &Loaded, stats: UsageStats) -> Write {
        match loaded {
            Loaded::Builtin { record, stats_rev } => {
                let mut r = record.clone();
                r.set_stats(stats);
                Self::builtin_stats_write(&r, *stats_rev)
            }
            Loaded::Stored(s) => {
                let mut r = s.record.clone();
                r.set_stats(stats);
                Write::PutTemplate { record: r, expect: Expect::Rev(s.rev) }
            }
        }
    }

    /// Records one use of a template the acting user can see; returns the new statistics.
    pub async fn record_usage(&self, id: &str, run: &UsageRun) -> Result<crate::model::WorkflowTemplate> {
        let t = retry_on_conflict(&self.env, STATS_ATTEMPTS, id, || async move {
            let loaded = self.load_visible(id).await?;
            let tid = loaded.record().id.clone();
            let mut stats = loaded.record().stats();
            let stored = self.store.get_usage_totals(&tid).await?;
            let mut totals = totals_of(&tid, &stats, stored.as_ref().map(|t| &t.record));
            add_usage(&mut stats, &mut totals, run, &self.now())?;
            // The sums go with the statistics, in one commit guarded by the record's revision.
            let writes = vec![self.stats_write(&loaded, stats.clone()), Write::PutUsageTotals { record: totals }];
            self.store.commit(writes).await?;
            let mut t = loaded.into_record();
            t.set_stats(stats);
            Ok(t)
        })
        .await?;
        self.emit("usage", "update", Some(&t.id));
        Ok(t)
    }

    /// The acting user's own rating of template `id` (visible to them): NOT_FOUND (kind
    /// "rating") when they have not rated it. Other users' ratings are never read here. (An
    /// offline replica re-reads one rating a feed change names: README "Offline replica".)
    pub async fn my_rating(&self, id: &str) -> Result<Rating> {
        let tid = self.load_visible(id).await?.record().id.clone();
        match self.store.get_rating(&tid, &self.user).await? {
            Some(r) => Ok(r.record),
            None => Err(Error::not_found("rating", tid)),
        }
    }

    /// One rating per user and template (0..=5); a second rating replaces the first.
    pub async fn rate(&self, id: &str, stars: f64) -> Result<crate::model::WorkflowTemplate> {
        if !stars.is_finite() || !(0.0..=5.0).contains(&stars) {
            return Err(violations(vec![Violation::new("stars", validate::OUT_OF_RANGE, "stars must be a number in 0..=5")]));
        }
        let t = retry_on_conflict(&self.env, STATS_ATTEMPTS, id, || async move {
            let loaded = self.load_visible(id).await?;
            let tid = loaded.record().id.clone();
            // The aggregate is recomputed from every stored rating of the template, this user's
            // replaced: it is what the ratings say whatever happened before (imports, a row
            // another adapter wrote). Every rating write also writes the template's statistics
            // under its revision, so a concurrent rating makes this commit retry.
            let rows = self.store.find_ratings(None, Some(&tid)).await?;
            let old = rows.iter().find(|r| r.record.user_id == self.user).cloned();
            let all: Vec<f64> = rows.iter().filter(|r| r.record.user_id != self.user).map(|r| r.record.stars).chain([stars]).collect();
            let mut stats = loaded.record().stats();
            (stats.rating, stats.rating_count) = rating_aggregate(&all)?;
            let rating = Rating { template_id: tid.clone(), user_id: self.user.clone(), stars, updated_at: self.now() };
            let writes = vec![
                Write::PutRating { record: rating, expect: old.as_ref().map(|r| Expect::Rev(r.rev)).unwrap_or(Expect::Absent) },
                self.stats_write(&loaded, stats.clone()),
            ];
            self.store.commit(writes).await?;
            let mut t = loaded.into_record();
            t.set_stats(stats);
            Ok(t)
        })
        .await?;
        self.emit("rating", "update", Some(&t.id));
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_bound_text_is_the_bound() {
        assert_eq!(MAX_RUN_COST_TEXT, MAX_RUN_COST.to_string());
        assert_eq!(MAX_RUN_COST_TEXT.parse::<f64>(), Ok(MAX_RUN_COST));
    }

    fn record(s: &mut UsageStats, t: &mut UsageTotals, ok: bool, rt: u64, tok: u64) {
        add_usage(s, t, &UsageRun { success: ok, response_time_ms: rt, tokens: tok, cost: 0.5 }, "2026-01-01T00:00:00.000Z").unwrap();
    }

    #[test]
    fn usage_means_are_exact_over_runs() {
        let mut s = UsageStats::default();
        let mut t = totals_of("X", &s, None);
        for (ok, rt, tok) in [(true, 100, 10), (false, 200, 20), (true, 300, 30), (true, 401, 40)] {
            record(&mut s, &mut t, ok, rt, tok);
        }
        assert_eq!(s.usage_count, 4);
        assert_eq!(s.success_rate, Some(0.75));
        assert_eq!(s.avg_response_time_ms, Some(250));
        assert_eq!(s.total_tokens_used, 100);
        assert_eq!(s.avg_tokens_per_use, Some(25.0));
        assert_eq!(s.total_cost, 2.0);
        assert_eq!(t, UsageTotals { id: "X".into(), usage_count: 4, successes: 3, response_time_ms: 1001, cost_sum: Some(vec![2.0]) });
    }

    #[test]
    fn stale_or_missing_sums_are_derived_from_the_record() {
        let mut s = UsageStats::default();
        let mut t = totals_of("X", &s, None);
        for rt in [1, 2, 4] {
            record(&mut s, &mut t, rt != 2, rt, 0);
        }
        assert_eq!(totals_of("X", &s, Some(&t)), t);
        // A record whose statistics moved without the sums (an older writer, an import).
        let mut restored = s.clone();
        restored.usage_count = 10;
        restored.success_rate = Some(0.3);
        restored.avg_response_time_ms = Some(7);
        assert_eq!(totals_of("X", &restored, Some(&t)), UsageTotals { id: "X".into(), usage_count: 10, successes: 3, response_time_ms: 70, cost_sum: Some(vec![1.5]) });
        assert_eq!(totals_of("Y", &s, Some(&t)).id, "Y");
    }

    #[test]
    fn rating_aggregate_is_the_exact_mean_of_the_rows() {
        assert_eq!(rating_aggregate(&[]).unwrap(), (None, 0));
        assert_eq!(rating_aggregate(&[4.0; 7]).unwrap(), (Some(4.0), 7));
        assert_eq!(rating_aggregate(&[1.0, 1.0, 5.0]).unwrap(), (Some(7.0 / 3.0), 3));
        assert_eq!(rating_aggregate(&[0.0, f64::NAN, 9.0]).unwrap(), (Some(0.0), 1));
        // Order does not matter, even for values that are not exact in binary.
        let a = [0.1, 4.3, 2.7, 0.3, 5.0, 1.1];
        let mut b = a;
        b.reverse();
        assert_eq!(rating_aggregate(&a).unwrap(), rating_aggregate(&b).unwrap());
        assert_eq!(exact_sum([0.1; 10]), 1.0);
    }
}
