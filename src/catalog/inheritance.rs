//! Inheritance (SPEC section 5) over stored records: the chain walk with its visibility, cycle
//! and depth rules, the checks a write must pass (its own chain and every template derived from
//! it), `chain`, `resolve`, `preview` and `derived`. Errors name only templates the acting user
//! may see (issue 10, item 5): the others are counted.

use crate::keyed::{StrMap, StrSet};
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{as_object, normalize_input, violations, Catalog, Env, Prefetched};
use crate::error::{Error, Result, Violation};
use crate::inherit::{self, Resolution, MAX_DEPTH};
use crate::model::WorkflowTemplate;
use crate::store::{Store, TemplateFilter};
use crate::validate::{self, Options};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainLink {
    pub id: String,
    pub name: String,
    pub base_template_id: Option<String>,
    pub level: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    pub id: String,
    pub chain: Vec<ChainLink>,
    pub effective: inherit::Effective,
    pub provenance: inherit::Provenance,
    pub resolved_hash: String,
}

/// Records that replace stored ones while a write is checked: the one being written, then
/// (for an import) the bundle's. Looked up where they are, never copied: a bundle copied per
/// derived record made an import quadratic (benchmark: examples/import_scale.rs).
#[derive(Clone, Copy)]
struct Overrides<'a> {
    one: Option<&'a WorkflowTemplate>,
    many: Option<&'a StrMap<WorkflowTemplate>>,
}

impl<'a> Overrides<'a> {
    const NONE: Overrides<'static> = Overrides { one: None, many: None };

    fn get(&self, id: &str) -> Option<&'a WorkflowTemplate> {
        match self.one {
            Some(t) if t.id == id => Some(t),
            _ => self.many.and_then(|m| m.get(id)),
        }
    }
}

impl<S: Store, E: Env> Catalog<S, E> {
    /// The chain from `leaf` to its root, leaf first. Each base must be visible to the owner of
    /// the template that points at it. `overrides` replace stored records (for checking a write
    /// before it is made). Errors name only templates the acting user may see (a chain can
    /// pass through another user's private template): the others are counted or left unnamed.
    async fn walk(&self, leaf: WorkflowTemplate, overrides: Overrides<'_>, mut pre: Prefetched) -> Result<Vec<WorkflowTemplate>> {
        let mut chain = vec![leaf];
        loop {
            let last = &chain[chain.len() - 1];
            let Some(base_id) = last.base_template_id.clone() else { break };
            if let Some(pos) = chain.iter().position(|t| t.id == base_id) {
                let on_cycle = &chain[pos..];
                let mut ids: Vec<String> = on_cycle.iter().filter(|t| Self::visible_to(t, &self.user)).map(|t| t.id.clone()).collect();
                if Self::visible_to(&chain[pos], &self.user) {
                    ids.push(base_id);
                }
                let hidden = on_cycle.iter().filter(|t| !Self::visible_to(t, &self.user)).count();
                return Err(Error::InheritanceCycle { ids, hidden });
            }
            if chain.len() >= MAX_DEPTH {
                return Err(Error::InheritanceTooDeep { id: chain[0].id.clone(), limit: MAX_DEPTH });
            }
            let owner = last.owner_id.clone();
            // What the acting user may be told about this link.
            let named = Self::visible_to(last, &self.user);
            let base = match overrides.get(&base_id) {
                Some(t) => Some(t.clone()),
                None => match self.load_raw_in(&base_id, &mut pre).await {
                    Ok(Some(l)) if Self::visible_to(l.record(), &owner) => {
                        let seen = named && Self::visible_to(l.record(), &self.user);
                        match Self::check_loaded(l) {
                            Ok(l) => Some(l.into_record()),
                            Err(e) if seen => return Err(e),
                            Err(_) => return Err(self.hidden_integrity(&chain[0].id)),
                        }
                    }
                    Ok(_) => None,
                    Err(e) if e.code() != "INTEGRITY" => return Err(e),
                    // A row stored under the wrong key: what it says is not the caller's to read.
                    Err(_) => return Err(self.hidden_integrity(&chain[0].id)),
                },
            };
            match base {
                Some(b) if Self::visible_to(&b, &owner) => chain.push(b),
                _ => return Err(Error::BaseNotFound { reference: if named { base_id } else { String::new() } }),
            }
        }
        Ok(chain)
    }

    /// INTEGRITY of a template in the chain of `leaf` that the acting user may not see.
    fn hidden_integrity(&self, leaf: &str) -> Error {
        Error::Integrity { id: leaf.to_string(), message: "a template in its inheritance chain that you cannot see failed verification".into() }
    }

    fn resolution(chain: &[WorkflowTemplate]) -> Resolution {
        let refs: Vec<&WorkflowTemplate> = chain.iter().collect();
        inherit::resolve(&refs)
    }

    /// Checks inheritance of a record about to be written: base exists and is visible, no
    /// cycle, depth, and workflow-type consistency of the effective configuration; then the
    /// same for every template that derives from it (their chains run through this record, so
    /// each is its own template on top of its base's chain). Problems of derived templates the
    /// acting user may not see are counted, never named: one that would lose sight of its base
    /// (this record made private) is HAS_DERIVED; one that would be too deep is
    /// INHERITANCE_TOO_DEEP; one that would be inconsistent is a `derived` violation.
    pub(crate) async fn check_inheritance(&self, record: &WorkflowTemplate, bundle: Option<&StrMap<WorkflowTemplate>>) -> Result<()> {
        let ov = Overrides { one: Some(record), many: bundle };
        let pre = match &record.base_template_id {
            Some(b) if ov.get(b).is_none() => self.prefetch(Some(b)).await,
            _ => Prefetched::new(),
        };
        let chain = self.walk(record.clone(), ov, pre).await?;
        let r = Self::resolution(&chain);
        let mut v = Vec::new();
        validate::check_type_consistency(r.effective.workflow_type, &r.effective.required_tools, &r.effective.required_retrievers, &mut v);
        if !v.is_empty() {
            return Err(violations(v));
        }
        let chain: Vec<Rc<WorkflowTemplate>> = chain.into_iter().map(Rc::new).collect();
        let mut frontier = vec![chain];
        let mut visited = StrSet::from_iter([record.id.clone()]);
        let (mut orphaned, mut orphaned_hidden) = (Vec::new(), 0usize);
        let (mut too_deep, mut mismatched) = (None::<String>, Vec::new());
        let mut mismatched_hidden = 0usize;
        while let Some(parent_chain) = frontier.pop() {
            let parent = parent_chain[0].clone();
            for row in self.store.find_templates(&TemplateFilter { base_template_id: Some(parent.id.clone()), ..Default::default() }).await? {
                if visited.len() > 10_000 {
                    break; // pathological fan-out: the direct check above still holds
                }
                if !visited.insert(row.record.id.clone()) {
                    continue;
                }
                let child = match ov.get(&row.record.id) {
                    Some(t) => t.clone(),
                    // A descendant that fails verification is already broken: reported, and
                    // neither it nor what derives from it can hold up this edit.
                    None => match self.verified(row.record) {
                        Some(t) => t,
                        None => continue,
                    },
                };
                if child.base_template_id.as_deref() != Some(parent.id.as_str()) {
                    continue; // this write moves it elsewhere; it is checked on its own
                }
                let seen = Self::visible_to(&child, &self.user);
                if !Self::visible_to(&parent, &child.owner_id) {
                    match seen {
                        true => orphaned.push(child.id.clone()),
                        false => orphaned_hidden += 1,
                    }
                    continue;
                }
                if parent_chain.len() >= MAX_DEPTH {
                    too_deep = too_deep.or(Some(if seen { child.id.clone() } else { record.id.clone() }));
                    continue;
                }
                let mut chain = Vec::with_capacity(parent_chain.len() + 1);
                chain.push(Rc::new(child));
                chain.extend(parent_chain.iter().cloned());
                let refs: Vec<&WorkflowTemplate> = chain.iter().map(|t| &**t).collect();
                let e = inherit::resolve(&refs).effective;
                let mut found = Vec::new();
                validate::check_type_consistency(e.workflow_type, &e.required_tools, &e.required_retrievers, &mut found);
                let child = &chain[0];
                if !found.is_empty() {
                    match seen {
                        true => mismatched.extend(found.into_iter().map(|x| {
                            Violation::new(format!("derived[{}].{}", child.id, x.field), &x.code, format!("derived template {}: {}", crate::validate::quoted(&child.name), x.message))
                        })),
                        false => mismatched_hidden += 1,
                    }
                }
                frontier.push(chain);
            }
        }
        if !orphaned.is_empty() || orphaned_hidden > 0 {
            return Err(Error::HasDerived { id: record.id.clone(), derived: orphaned, hidden: orphaned_hidden });
        }
        if let Some(id) = too_deep {
            return Err(Error::InheritanceTooDeep { id, limit: MAX_DEPTH });
        }
        if mismatched_hidden > 0 {
            mismatched.push(Violation::new(
                "derived",
                validate::WORKFLOW_TYPE_MISMATCH,
                format!("{mismatched_hidden} derived template(s) you cannot see would no longer be consistent with their workflow_type"),
            ));
        }
        match mismatched.is_empty() {
            true => Ok(()),
            false => Err(violations(mismatched)),
        }
    }

    /// `[{ id, name, base_template_id, level }]`, level 0 first.
    pub async fn chain(&self, id: &str) -> Result<Vec<ChainLink>> {
        let (leaf, pre) = self.load_chain_leaf(id).await?;
        let chain = self.walk(leaf, Overrides::NONE, pre).await?;
        Ok(chain
            .iter()
            .enumerate()
            .map(|(level, t)| ChainLink { id: t.id.clone(), name: t.name.clone(), base_template_id: t.base_template_id.clone(), level })
            .collect())
    }

    pub async fn resolve(&self, id: &str) -> Result<Resolved> {
        let (leaf, pre) = self.load_chain_leaf(id).await?;
        let chain = self.walk(leaf, Overrides::NONE, pre).await?;
        Ok(Self::resolved(&chain))
    }

    /// `resolve` of an unsaved draft, for editors' live preview: nothing is written. Only the
    /// configuration fields are read and validated (workflow-type consistency is a matter of
    /// the effective configuration, which this returns); the base chain is walked with the
    /// same visibility, cycle and depth rules as a save. With `id` the draft edits that owned
    /// template (it leads the chain, so a base that would close a cycle is reported); without,
    /// the leaf gets a fresh id that is never stored.
    pub async fn preview(&self, draft: Value, id: Option<&str>) -> Result<Resolved> {
        let draft = as_object(draft, "a template draft")?;
        let start = match id {
            Some(id) => self.load_owned(id).await?.record,
            None => {
                let mut b = self.blank();
                b.id = self.new_id();
                b
            }
        };
        // The configuration: the draft's fields over the starting record's.
        // `retain`, not a filtered `collect`: collecting a `Map` sorts with a standard-sort
        // instance of its own (BENCHMARKS.md "Size", lever C).
        let mut config: Map<String, Value> = match start.to_value() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        config.retain(|k, _| inherit::CONFIG_FIELDS.contains(&k.as_str()));
        config.extend(draft.into_iter().filter(|(k, _)| inherit::CONFIG_FIELDS.contains(&k.as_str())));
        normalize_input(&mut config, &["base_template_id"]);
        let problems: Vec<Violation> = validate::validate_template(&Value::Object(config.clone()), Options::default())
            .into_iter()
            .filter(|v| {
                let root = v.field.split(['.', '[']).next().unwrap_or("");
                v.code != validate::WORKFLOW_TYPE_MISMATCH && inherit::CONFIG_FIELDS.contains(&root)
            })
            .collect();
        if !problems.is_empty() {
            return Err(violations(problems));
        }
        let mut obj = match start.to_value() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        obj.extend(config);
        let leaf: WorkflowTemplate = crate::model::read::read(Value::Object(obj)).map_err(|e| Error::invalid(format!("the draft's configuration: {e}")))?;
        let chain = self.walk(leaf.clone(), Overrides { one: Some(&leaf), many: None }, Prefetched::new()).await?;
        Ok(Self::resolved(&chain))
    }

    fn resolved(chain: &[WorkflowTemplate]) -> Resolved {
        let r = Self::resolution(chain);
        Resolved {
            id: chain[0].id.clone(),
            chain: chain
                .iter()
                .enumerate()
                .map(|(level, t)| ChainLink { id: t.id.clone(), name: t.name.clone(), base_template_id: t.base_template_id.clone(), level })
                .collect(),
            effective: r.effective,
            provenance: r.provenance,
            resolved_hash: r.resolved_hash,
        }
    }

    /// Direct children the acting user may see.
    pub async fn derived(&self, id: &str) -> Result<Vec<WorkflowTemplate>> {
        let id = self.load_visible(id).await?.record().id.clone();
        let mut out = Vec::new();
        for s in self.store.find_templates(&TemplateFilter { base_template_id: Some(id), ..Default::default() }).await? {
            if Self::visible_to(&s.record, &self.user) {
                out.extend(self.verified(s.record));
            }
        }
        crate::sort::sort_by(&mut out, |a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}
