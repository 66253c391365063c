use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::enums::WorkflowType;

/// A row of `template_specs`: a lightweight recipe that `instantiateSpec` turns into a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub owner_id: String,
    pub name: String,
    pub description: String,
    pub workflow_type: WorkflowType,
    pub default_params: Map<String, Value>,
    pub required_tools: Option<Vec<String>>,
    pub required_retrievers: Option<Vec<String>>,
    pub base_template_name: Option<String>,
    pub usage_count: u64,
    pub last_used_at: Option<String>,
    pub tags: Option<Vec<String>>,
    pub extra_metadata: Option<Map<String, Value>>,
}

pub const SPEC_READ_ONLY: &[&str] = &["id", "owner_id", "created_at", "updated_at", "usage_count", "last_used_at"];

pub const SPEC_WRITABLE: &[&str] = &[
    "name", "description", "workflow_type", "default_params", "required_tools", "required_retrievers",
    "base_template_name", "tags", "extra_metadata",
];

impl TemplateSpec {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
