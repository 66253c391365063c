//! Usage statistics and ratings (SPEC section 9). Each is a read-modify-write guarded by the
//! stored revision and retried on CONFLICT, so concurrent writers never lose an increment.
//! Statistics do not move `updated_at` (that tracks edits, and is the `ifMatch` token: a usage
//! recorded elsewhere must not invalidate an editor's copy).

use serde_json::Value;

use super::{violations, Catalog, Env, Loaded};
use crate::error::{Error, Result, Violation};
use crate::model::{UsageStats, MAX_SAFE_INTEGER};
use crate::store::{Expect, Rating, Store, Write};
use crate::validate;

/// How many times a statistics write is retried when another writer got there first.
const RETRIES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageRun {
    pub success: bool,
    pub response_time_ms: u64,
    pub tokens: u64,
    pub cost: f64,
}

fn uint(v: Option<&Value>, field: &str, required: bool, out: &mut Vec<Violation>) -> u64 {
    match v {
        None | Some(Value::Null) if !required => 0,
        None | Some(Value::Null) => {
            out.push(Violation::new(field, validate::REQUIRED, format!("{field} is required")));
            0
        }
        Some(n) => match n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64)) {
            Some(x) if x <= MAX_SAFE_INTEGER => x,
            _ => {
                out.push(Violation::new(field, validate::OUT_OF_RANGE, format!("{field} must be an integer in 0..=2^53-1")));
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
                out.push(Violation::new(k.clone(), validate::UNKNOWN_FIELD, format!("unknown field {k:?}")));
            }
        }
        let success = match m.get("success") {
            Some(Value::Bool(b)) => *b,
            _ => {
                out.push(Violation::new("success", validate::TYPE, "success must be a boolean"));
                false
            }
        };
        let response_time_ms = uint(m.get("responseTimeMs"), "responseTimeMs", true, &mut out);
        let tokens = uint(m.get("tokens"), "tokens", false, &mut out);
        let cost = match m.get("cost") {
            None | Some(Value::Null) => 0.0,
            Some(c) => match c.as_f64() {
                Some(x) if x.is_finite() && (0.0..=MAX_SAFE_INTEGER as f64).contains(&x) => x,
                _ => {
                    out.push(Violation::new("cost", validate::OUT_OF_RANGE, "cost must be a number in 0..=2^53-1"));
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

/// Adds one run to the statistics: counters and totals add up; success_rate, the average
/// response time (rounded to whole ms) and tokens per use are means over all uses.
pub fn add_usage(s: &mut UsageStats, run: &UsageRun, now: &str) -> Result<()> {
    let n = s.usage_count + 1;
    let tokens = s.total_tokens_used.checked_add(run.tokens).filter(|t| *t <= MAX_SAFE_INTEGER);
    let (Some(tokens), true) = (tokens, n <= MAX_SAFE_INTEGER) else {
        return Err(Error::invalid("usage counters would exceed 2^53-1"));
    };
    let prev = (n - 1) as f64;
    let successes = (s.success_rate.unwrap_or(0.0) * prev).round() + if run.success { 1.0 } else { 0.0 };
    s.success_rate = Some((successes / n as f64).clamp(0.0, 1.0));
    let avg_rt = s.avg_response_time_ms.unwrap_or(0) as f64;
    s.avg_response_time_ms = Some(((avg_rt * prev + run.response_time_ms as f64) / n as f64).round() as u64);
    s.total_tokens_used = tokens;
    let total_cost = s.total_cost + run.cost;
    if !total_cost.is_finite() || total_cost > MAX_SAFE_INTEGER as f64 {
        return Err(Error::invalid("total_cost would exceed 2^53-1"));
    }
    s.total_cost = total_cost;
    s.avg_tokens_per_use = Some(tokens as f64 / n as f64);
    s.usage_count = n;
    s.last_used_at = Some(now.to_string());
    Ok(())
}

/// Replaces (or adds) one user's rating in the running mean.
pub fn apply_rating(s: &mut UsageStats, old: Option<f64>, stars: f64) {
    let sum = s.rating.unwrap_or(0.0) * s.rating_count as f64;
    let (sum, count) = match old {
        Some(o) => (sum - o + stars, s.rating_count),
        None => (sum + stars, s.rating_count + 1),
    };
    s.rating_count = count;
    s.rating = if count == 0 { None } else { Some((sum / count as f64).clamp(0.0, 5.0)) };
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
        for _ in 0..RETRIES {
            let loaded = self.load_visible(id).await?;
            let mut stats = loaded.record().stats();
            add_usage(&mut stats, run, &self.now())?;
            let write = self.stats_write(&loaded, stats.clone());
            match self.store.commit(vec![write]).await {
                Ok(()) => {
                    let mut t = loaded.into_record();
                    t.set_stats(stats);
                    self.emit("usage", "update", Some(&t.id));
                    return Ok(t);
                }
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict { id: id.to_string(), expected: "a quiet moment".into(), actual: "too many concurrent writers".into() })
    }

    /// One rating per user and template (0..=5); a second rating replaces the first.
    pub async fn rate(&self, id: &str, stars: f64) -> Result<crate::model::WorkflowTemplate> {
        if !stars.is_finite() || !(0.0..=5.0).contains(&stars) {
            return Err(violations(vec![Violation::new("stars", validate::OUT_OF_RANGE, "stars must be a number in 0..=5")]));
        }
        for _ in 0..RETRIES {
            let loaded = self.load_visible(id).await?;
            let tid = loaded.record().id.clone();
            let old = self.store.get_rating(&tid, &self.user).await?;
            let mut stats = loaded.record().stats();
            apply_rating(&mut stats, old.as_ref().map(|r| r.record.stars), stars);
            let rating = Rating { template_id: tid.clone(), user_id: self.user.clone(), stars, updated_at: self.now() };
            let writes = vec![
                Write::PutRating { record: rating, expect: old.as_ref().map(|r| Expect::Rev(r.rev)).unwrap_or(Expect::Absent) },
                self.stats_write(&loaded, stats.clone()),
            ];
            match self.store.commit(writes).await {
                Ok(()) => {
                    let mut t = loaded.into_record();
                    t.set_stats(stats);
                    self.emit("rating", "update", Some(&tid));
                    return Ok(t);
                }
                Err(Error::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict { id: id.to_string(), expected: "a quiet moment".into(), actual: "too many concurrent writers".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_means_are_exact_over_runs() {
        let mut s = UsageStats::default();
        let runs = [(true, 100, 10), (false, 200, 20), (true, 300, 30), (true, 401, 40)];
        for (ok, rt, tok) in runs {
            add_usage(&mut s, &UsageRun { success: ok, response_time_ms: rt, tokens: tok, cost: 0.5 }, "2026-01-01T00:00:00.000Z").unwrap();
        }
        assert_eq!(s.usage_count, 4);
        assert_eq!(s.success_rate, Some(0.75));
        assert_eq!(s.avg_response_time_ms, Some(250));
        assert_eq!(s.total_tokens_used, 100);
        assert_eq!(s.avg_tokens_per_use, Some(25.0));
        assert_eq!(s.total_cost, 2.0);
    }

    #[test]
    fn rating_replacement_keeps_count() {
        let mut s = UsageStats::default();
        apply_rating(&mut s, None, 4.0);
        apply_rating(&mut s, None, 2.0);
        assert_eq!((s.rating, s.rating_count), (Some(3.0), 2));
        apply_rating(&mut s, Some(2.0), 5.0);
        assert_eq!((s.rating, s.rating_count), (Some(4.5), 2));
    }
}
