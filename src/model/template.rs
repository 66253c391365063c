use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::enums::{TemplateCategory, WorkflowType};

/// A row of `workflow_templates`, field for field, with the schema's column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowTemplate {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub owner_id: String,
    pub name: String,
    pub description: String,
    pub workflow_type: WorkflowType,
    pub category: TemplateCategory,
    pub default_params: Map<String, Value>,
    pub required_tools: Option<Vec<String>>,
    pub required_retrievers: Option<Vec<String>>,
    pub base_template_id: Option<String>,
    pub is_builtin: bool,
    pub version: u64,
    pub is_latest: bool,
    pub changelog: Option<String>,
    pub is_public: bool,
    pub rating: Option<f64>,
    pub rating_count: u64,
    pub usage_count: u64,
    pub success_rate: Option<f64>,
    pub avg_response_time_ms: Option<u64>,
    pub last_used_at: Option<String>,
    pub total_tokens_used: u64,
    pub total_cost: f64,
    pub avg_tokens_per_use: Option<f64>,
    pub tags: Option<Vec<String>>,
    pub extra_metadata: Option<Map<String, Value>>,
    pub config_hash: String,
    pub estimated_complexity: Option<u64>,
}

/// The fields of a template that the catalog maintains itself: create and update refuse them
/// (code `READ_ONLY`); only import takes whole records.
pub const TEMPLATE_READ_ONLY: &[&str] = &[
    "id", "owner_id", "created_at", "updated_at", "last_used_at", "is_builtin", "version", "is_latest",
    "rating", "rating_count", "usage_count", "success_rate", "avg_response_time_ms", "total_tokens_used",
    "total_cost", "avg_tokens_per_use", "config_hash",
];

/// The fields a user may write through create and update.
pub const TEMPLATE_WRITABLE: &[&str] = &[
    "name", "description", "workflow_type", "category", "default_params", "required_tools",
    "required_retrievers", "base_template_id", "changelog", "is_public", "tags", "extra_metadata",
    "estimated_complexity",
];

/// The usage statistics of a template; for built-ins they live in storage beside the
/// in-memory record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UsageStats {
    pub rating: Option<f64>,
    pub rating_count: u64,
    pub usage_count: u64,
    pub success_rate: Option<f64>,
    pub avg_response_time_ms: Option<u64>,
    pub last_used_at: Option<String>,
    pub total_tokens_used: u64,
    pub total_cost: f64,
    pub avg_tokens_per_use: Option<f64>,
}

impl WorkflowTemplate {
    /// A fresh version-1 record with the schema's defaults (category custom, `{}` params, no
    /// lists, private, zero statistics) and an empty `config_hash` for the caller to compute.
    pub fn with_defaults(id: String, owner_id: String, now: String) -> Self {
        WorkflowTemplate {
            id,
            created_at: now.clone(),
            updated_at: now,
            owner_id,
            name: String::new(),
            description: String::new(),
            workflow_type: WorkflowType::Plain,
            category: TemplateCategory::default(),
            default_params: Map::new(),
            required_tools: None,
            required_retrievers: None,
            base_template_id: None,
            is_builtin: false,
            version: 1,
            is_latest: true,
            changelog: None,
            is_public: false,
            rating: None,
            rating_count: 0,
            usage_count: 0,
            success_rate: None,
            avg_response_time_ms: None,
            last_used_at: None,
            total_tokens_used: 0,
            total_cost: 0.0,
            avg_tokens_per_use: None,
            tags: None,
            extra_metadata: None,
            config_hash: String::new(),
            estimated_complexity: None,
        }
    }

    pub fn stats(&self) -> UsageStats {
        UsageStats {
            rating: self.rating,
            rating_count: self.rating_count,
            usage_count: self.usage_count,
            success_rate: self.success_rate,
            avg_response_time_ms: self.avg_response_time_ms,
            last_used_at: self.last_used_at.clone(),
            total_tokens_used: self.total_tokens_used,
            total_cost: self.total_cost,
            avg_tokens_per_use: self.avg_tokens_per_use,
        }
    }

    pub fn set_stats(&mut self, s: UsageStats) {
        self.rating = s.rating;
        self.rating_count = s.rating_count;
        self.usage_count = s.usage_count;
        self.success_rate = s.success_rate;
        self.avg_response_time_ms = s.avg_response_time_ms;
        self.last_used_at = s.last_used_at;
        self.total_tokens_used = s.total_tokens_used;
        self.total_cost = s.total_cost;
        self.avg_tokens_per_use = s.avg_tokens_per_use;
    }

    /// The parts of the record that `config_hash` covers (SPEC section 4).
    pub fn config(&self) -> crate::hash::ConfigParts<'_> {
        crate::hash::ConfigParts {
            workflow_type: self.workflow_type,
            default_params: &self.default_params,
            required_tools: self.required_tools.as_deref().unwrap_or(&[]),
            required_retrievers: self.required_retrievers.as_deref().unwrap_or(&[]),
            base_template_id: self.base_template_id.as_deref(),
        }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
