//! Template specs (SPEC section 10): private recipes owned by one user, and `instantiateSpec`,
//! which turns one into a template and counts the use in the same commit.

use serde_json::{Map, Value};

use super::create_id::{absent_spec, absent_template, Chosen, Made};
use super::retry::{retry_on_conflict, EDIT_ATTEMPTS};
use super::{as_object, normalize_input, overlay, violations, Catalog, Env, WriteOptions};
use crate::builtin;
use crate::error::{Error, Result, Violation};
use crate::model::spec::{SPEC_READ_ONLY, SPEC_WRITABLE};
use crate::model::{time, TemplateSpec, WorkflowTemplate};
use crate::store::{name_key, Expect, SpecFilter, Store, Stored, TemplateFilter, Write};
use crate::validate::{self, Options};

impl<S: Store, E: Env> Catalog<S, E> {
    fn build_spec(&self, base: &TemplateSpec, patch: Map<String, Value>) -> Result<TemplateSpec> {
        let mut v = Vec::new();
        let value = Value::Object(overlay(base.to_value(), patch, SPEC_READ_ONLY, SPEC_WRITABLE, &mut v));
        v.extend(validate::validate_spec(&value, Options { complete: false, allow_builtin: false }));
        if !v.is_empty() {
            return Err(violations(v));
        }
        crate::model::read::read(value).map_err(|e| violations(vec![Violation::new("", validate::TYPE, e)]))
    }

    async fn load_spec(&self, id: &str) -> Result<Stored<TemplateSpec>> {
        let mut s = self.load_spec_raw(id).await?;
        super::integrity::verify_spec(&mut s.record)?;
        Ok(s)
    }

    /// The acting user's spec as stored, not verified (delete takes it, so an owner is never
    /// stuck with a corrupt spec).
    async fn load_spec_raw(&self, id: &str) -> Result<Stored<TemplateSpec>> {
        let id = self.parse_id(id)?;
        match self.store.get_spec(&id).await? {
            // Specs are private: someone else's spec does not exist for this user.
            Some(s) if s.record.owner_id == self.user && s.record.id == id => Ok(s),
            Some(s) if s.record.owner_id == self.user => {
                Err(Error::Integrity { id: id.clone(), message: format!("stored under {id} but says {}", s.record.id) })
            }
            _ => Err(Error::not_found("spec", id)),
        }
    }

    /// The specs of `rows` that pass [`super::integrity::verify_spec`]; the others are reported and left out.
    pub(crate) fn keep_verified_specs(&self, rows: impl IntoIterator<Item = TemplateSpec>) -> Vec<TemplateSpec> {
        rows.into_iter()
            .filter_map(|mut s| match super::integrity::verify_spec(&mut s) {
                Ok(()) => Some(s),
                Err(e) => {
                    self.skip("template_specs", &s.id, &e);
                    None
                }
            })
            .collect()
    }

    pub async fn create_spec(&self, draft: Value) -> Result<TemplateSpec> {
        self.create_spec_as(None, draft).await
    }

    /// `create_spec` under a chosen id (`create_id.rs`): a replay answers the stored spec.
    pub async fn create_spec_as(&self, id: Option<&str>, draft: Value) -> Result<TemplateSpec> {
        let fresh = match self.spec_id_for(id).await? {
            Chosen::Replay(s) => return Ok(s),
            Chosen::Free(n) => n,
        };
        let spec = match self.create_spec_once(fresh, draft).await {
            Ok(s) => s,
            Err(e) => return self.settle_spec(id, e).await,
        };
        self.emit("spec", "create", Some(&spec.id));
        Ok(spec)
    }

    async fn create_spec_once(&self, id: String, draft: Value) -> Result<TemplateSpec> {
        let mut m = as_object(draft, "a spec draft")?;
        normalize_input(&mut m, &[]);
        if let Some(Value::String(s)) = m.get_mut("base_template_name") {
            *s = super::trim(s).to_string();
        }
        let mut missing = Vec::new();
        for f in ["name", "workflow_type"] {
            if !m.contains_key(f) {
                missing.push(Violation::new(f, validate::REQUIRED, format!("{f} is required")));
            }
        }
        let now = self.now();
        let base = TemplateSpec {
            id,
            created_at: now.clone(),
            updated_at: now,
            owner_id: self.user.clone(),
            name: String::new(),
            description: String::new(),
            workflow_type: crate::model::WorkflowType::Plain,
            default_params: Map::new(),
            required_tools: None,
            required_retrievers: None,
            base_template_name: None,
            usage_count: 0,
            last_used_at: None,
            tags: None,
            extra_metadata: None,
        };
        if !missing.is_empty() {
            // Report every violation at once: validate the rest with placeholders filled in.
            let mut probe = m;
            probe.entry("name").or_insert(Value::String("x".into()));
            probe.entry("workflow_type").or_insert(Value::String("plain".into()));
            let mut v = missing;
            if let Err(Error::ValidationFailed(more)) = self.build_spec(&base, probe) {
                v.extend(more.into_iter().filter(|x| x.code != validate::WORKFLOW_TYPE_MISMATCH));
            }
            return Err(violations(v));
        }
        let spec = self.build_spec(&base, m)?;
        self.store.commit(vec![Write::PutSpec { record: spec.clone(), expect: Expect::Absent }, absent_template(&spec.id)]).await?;
        Ok(spec)
    }

    pub async fn get_spec(&self, id: &str) -> Result<TemplateSpec> {
        Ok(self.load_spec(id).await?.record)
    }

    pub async fn update_spec(&self, id: &str, patch: Value, opts: WriteOptions) -> Result<TemplateSpec> {
        // Pinned to the updated_at it started from and retried when only the spec's usage
        // counter moved (instantiateSpec elsewhere), as template edits are.
        let opts = match opts.if_match {
            Some(_) => opts,
            None => WriteOptions { if_match: Some(self.load_spec(id).await?.record.updated_at) },
        };
        retry_on_conflict(&self.env, EDIT_ATTEMPTS, id, || self.update_spec_once(id, patch.clone(), &opts)).await
    }

    async fn update_spec_once(&self, id: &str, patch: Value, opts: &WriteOptions) -> Result<TemplateSpec> {
        let current = self.load_spec(id).await?;
        if let Some(want) = &opts.if_match {
            if time::parse_ms(want).is_none() {
                return Err(Error::invalid(format!("ifMatch {} is not an RFC 3339 timestamp", crate::validate::quoted(want))));
            }
            if time::parse_ms(want) != time::parse_ms(&current.record.updated_at) {
                return Err(Error::Conflict { id: current.record.id.clone(), expected: want.clone(), actual: current.record.updated_at.clone() });
            }
        }
        let mut m = as_object(patch, "a spec patch")?;
        normalize_input(&mut m, &[]);
        let mut spec = self.build_spec(&current.record, m)?;
        spec.updated_at = self.after(&current.record.updated_at)?;
        self.store.commit(vec![Write::PutSpec { record: spec.clone(), expect: Expect::Rev(current.rev) }]).await?;
        self.emit("spec", "update", Some(&spec.id));
        Ok(spec)
    }

    pub async fn delete_spec(&self, id: &str) -> Result<()> {
        let deleted = retry_on_conflict(&self.env, EDIT_ATTEMPTS, id, || async move {
            let current = self.load_spec_raw(id).await?;
            self.store.commit(vec![Write::DeleteSpec { id: current.record.id.clone(), expect: Expect::Rev(current.rev) }]).await?;
            Ok(current.record.id)
        })
        .await?;
        self.emit("spec", "delete", Some(&deleted));
        Ok(())
    }

    /// The acting user's specs, most recently updated first (a stored spec that fails
    /// validation is left out and reported).
    pub async fn list_specs(&self) -> Result<Vec<TemplateSpec>> {
        let rows = self.store.find_specs(&SpecFilter { owner_id: Some(self.user.clone()), ..Default::default() }).await?;
        let mut out = self.keep_verified_specs(rows.into_iter().map(|s| s.record));
        crate::sort::sort_by(&mut out, |a, b| b.updated_at.cmp(&a.updated_at).then_with(|| b.id.cmp(&a.id)));
        Ok(out)
    }

    /// `base_template_name` -> the user's own latest template of that name, else a built-in of
    /// that name, else the single public template of that name.
    async fn base_by_name(&self, name: &str) -> Result<String> {
        let key = name_key(name);
        let own = self
            .store
            .find_templates(&TemplateFilter { owner_id: Some(self.user.clone()), name_key: Some(key.clone()), is_latest: Some(true), ..Default::default() })
            .await?;
        if let Some(t) = own.first() {
            return Ok(t.record.id.clone());
        }
        if let Some(b) = builtin::by_name(name) {
            return Ok(b.id.clone());
        }
        let public = self
            .store
            .find_templates(&TemplateFilter { name_key: Some(key), is_public: Some(true), is_latest: Some(true), ..Default::default() })
            .await?;
        // Someone else's row that fails verification is not a candidate (reported instead).
        let public = self.keep_verified(public.into_iter().map(|s| s.record));
        match public.len() {
            0 => Err(Error::BaseNotFound { reference: name.to_string() }),
            1 => Ok(public[0].id.clone()),
            _ => Err(Error::AmbiguousBase { name: name.to_string(), candidates: public.iter().map(|t| t.id.clone()).collect() }),
        }
    }

    /// Creates a template from a spec (`overrides` are template draft fields that win over the
    /// spec's), and counts the use on the spec, in one commit.
    pub async fn instantiate_spec(&self, spec_id: &str, overrides: Value) -> Result<WorkflowTemplate> {
        self.instantiate_spec_as(None, spec_id, overrides).await
    }

    /// `instantiate_spec` whose template gets the chosen id `id` (`create_id.rs`); a replay
    /// answers the stored template and counts no second use.
    pub async fn instantiate_spec_as(&self, id: Option<&str>, spec_id: &str, overrides: Value) -> Result<WorkflowTemplate> {
        let fresh = match self.template_id_for(id, Made::First).await? {
            Chosen::Replay(r) => return Ok(r),
            Chosen::Free(n) => n,
        };
        match self.instantiate_once(fresh, spec_id, overrides).await {
            Ok((record, spec_id)) => {
                self.emit("template", "create", Some(&record.id));
                self.emit("spec", "update", Some(&spec_id));
                Ok(record)
            }
            Err(e) => self.settle_template(id, Made::First, e).await,
        }
    }

    async fn instantiate_once(&self, new_id: String, spec_id: &str, overrides: Value) -> Result<(WorkflowTemplate, String)> {
        let spec = self.load_spec(spec_id).await?;
        let overrides = match overrides {
            Value::Null => Map::new(),
            other => as_object(other, "overrides")?,
        };
        let s = &spec.record;
        let mut draft = Map::new();
        draft.insert("name".into(), Value::String(s.name.clone()));
        draft.insert("description".into(), Value::String(s.description.clone()));
        draft.insert("workflow_type".into(), Value::String(s.workflow_type.as_str().into()));
        draft.insert("default_params".into(), Value::Object(s.default_params.clone()));
        draft.insert("required_tools".into(), serde_json::to_value(&s.required_tools).unwrap_or(Value::Null));
        draft.insert("required_retrievers".into(), serde_json::to_value(&s.required_retrievers).unwrap_or(Value::Null));
        draft.insert("tags".into(), serde_json::to_value(&s.tags).unwrap_or(Value::Null));
        draft.insert("extra_metadata".into(), serde_json::to_value(&s.extra_metadata).unwrap_or(Value::Null));
        if let Some(name) = &s.base_template_name {
            if !overrides.contains_key("base_template_id") {
                draft.insert("base_template_id".into(), Value::String(self.base_by_name(name).await?));
            }
        }
        for (k, v) in overrides {
            draft.insert(k, v);
        }
        let record = self.prepare_create(new_id, Value::Object(draft)).await?;
        let mut used = s.clone();
        // A counter never passes 2^53-1 (nor silently stops counting): the same coded error
        // as a template's usage counters.
        used.usage_count = used.usage_count.checked_add(1).filter(|n| *n <= crate::model::MAX_SAFE_INTEGER).ok_or_else(|| Error::invalid("usage counters would exceed 2^53-1"))?;
        used.last_used_at = Some(self.now());
        self.store
            .commit(vec![
                Write::PutTemplate { record: record.clone(), expect: Expect::Absent },
                Write::PutSpec { record: used, expect: Expect::Rev(spec.rev) },
                absent_spec(&record.id),
            ])
            .await?;
        Ok((record, spec.record.id.clone()))
    }
}
