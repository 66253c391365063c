//! The built-in templates: compiled into the module, held in memory, never written to storage.
//! Their ids are stable across releases (documented in README.md); their owner is
//! `00000000000000000000000000`; they are public and read-only. Usage and ratings of built-ins
//! are kept in storage beside them (see `store::BuiltinStats`).

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::model::id::BUILTIN_OWNER;
use crate::model::{TemplateCategory as C, WorkflowTemplate, WorkflowType as W};

/// When the built-ins were first published; never changes.
pub const BUILTIN_TIMESTAMP: &str = "2026-01-01T00:00:00.000Z";

struct Def {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    workflow_type: W,
    category: C,
    tools: &'static [&'static str],
    retrievers: &'static [&'static str],
    params: fn() -> Value,
    tags: &'static [&'static str],
    complexity: u64,
}

const DEFS: &[Def] = &[
    Def {
        id: "00000000000000000000000001",
        name: "General Assistant",
        description: "A plain conversational assistant with balanced defaults.",
        workflow_type: W::Plain,
        category: C::General,
        tools: &[],
        retrievers: &[],
        params: || json!({ "model": { "name": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 1024 }, "system_prompt": "You are a helpful assistant." }),
        tags: &["assistant", "chat"],
        complexity: 1,
    },
    Def {
        id: "00000000000000000000000002",
        name: "Support Desk Agent",
        description: "Answers customer questions from the help center and looks up tickets and orders.",
        workflow_type: W::Full,
        category: C::CustomerSupport,
        tools: &["ticket_lookup", "order_status"],
        retrievers: &["help_center"],
        params: || json!({ "model": { "name": "gpt-4o", "temperature": 0.2, "max_tokens": 800 }, "retrieval": { "top_k": 5, "min_score": 0.35 }, "tone": "friendly", "escalate_after_turns": 6 }),
        tags: &["support", "tickets"],
        complexity: 4,
    },
    Def {
        id: "00000000000000000000000003",
        name: "Code Assistant",
        description: "Writes, explains and fixes code, with a sandboxed interpreter and repository search.",
        workflow_type: W::Tools,
        category: C::Programming,
        tools: &["code_interpreter", "repo_search"],
        retrievers: &[],
        params: || json!({ "model": { "name": "gpt-4o", "temperature": 0.1, "max_tokens": 2048 }, "languages": ["rust", "typescript", "python"], "run_tests": true }),
        tags: &["code", "developer"],
        complexity: 3,
    },
    Def {
        id: "00000000000000000000000004",
        name: "Research Analyst",
        description: "Answers research questions from an indexed paper collection, citing sources.",
        workflow_type: W::Rag,
        category: C::Research,
        tools: &[],
        retrievers: &["paper_index"],
        params: || json!({ "model": { "name": "gpt-4o", "temperature": 0.3, "max_tokens": 1500 }, "retrieval": { "top_k": 8, "min_score": 0.3, "rerank": true }, "citations": "inline" }),
        tags: &["research", "citations"],
        complexity: 3,
    },
    Def {
        id: "00000000000000000000000005",
        name: "Data Analyst",
        description: "Explores tabular data with SQL and a Python sandbox and explains the findings.",
        workflow_type: W::Tools,
        category: C::DataAnalysis,
        tools: &["sql_query", "python_sandbox"],
        retrievers: &[],
        params: || json!({ "model": { "name": "gpt-4o", "temperature": 0.0, "max_tokens": 2048 }, "max_rows": 1000, "charts": true }),
        tags: &["data", "sql"],
        complexity: 3,
    },
    Def {
        id: "00000000000000000000000006",
        name: "Creative Writer",
        description: "Drafts stories, poems and marketing copy with a lively voice.",
        workflow_type: W::Plain,
        category: C::Creative,
        tools: &[],
        retrievers: &[],
        params: || json!({ "model": { "name": "gpt-4o", "temperature": 1.0, "max_tokens": 2000 }, "style": "vivid" }),
        tags: &["writing", "creative"],
        complexity: 1,
    },
    Def {
        id: "00000000000000000000000007",
        name: "Course Tutor",
        description: "Teaches from course materials step by step and checks understanding.",
        workflow_type: W::Rag,
        category: C::Educational,
        tools: &[],
        retrievers: &["course_materials"],
        params: || json!({ "model": { "name": "gpt-4o-mini", "temperature": 0.4, "max_tokens": 1200 }, "retrieval": { "top_k": 4 }, "socratic": true }),
        tags: &["education", "tutor"],
        complexity: 2,
    },
    Def {
        id: "00000000000000000000000008",
        name: "Business Report Builder",
        description: "Builds business reports from company documents and live spreadsheet data.",
        workflow_type: W::Full,
        category: C::Business,
        tools: &["spreadsheet_reader", "chart_maker"],
        retrievers: &["company_docs"],
        params: || json!({ "model": { "name": "gpt-4o", "temperature": 0.3, "max_tokens": 3000 }, "retrieval": { "top_k": 6 }, "format": "markdown" }),
        tags: &["business", "reports"],
        complexity: 4,
    },
    Def {
        id: "00000000000000000000000009",
        name: "Blank Template",
        description: "A minimal starting point for your own workflows.",
        workflow_type: W::Plain,
        category: C::Custom,
        tools: &[],
        retrievers: &[],
        params: || json!({ "model": { "name": "gpt-4o-mini", "temperature": 0.7 } }),
        tags: &["starter"],
        complexity: 1,
    },
    Def {
        id: "0000000000000000000000000A",
        name: "Document Q&A",
        description: "Answers questions about your own documents with retrieval.",
        workflow_type: W::Rag,
        category: C::General,
        tools: &[],
        retrievers: &["document_store"],
        params: || json!({ "model": { "name": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 1000 }, "retrieval": { "top_k": 5, "chunk_size": 800 } }),
        tags: &["documents", "qa"],
        complexity: 2,
    },
];

fn build(d: &Def) -> WorkflowTemplate {
    let params = match (d.params)() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let list = |xs: &[&str]| if xs.is_empty() { None } else { Some(xs.iter().map(|s| s.to_string()).collect()) };
    let mut t = WorkflowTemplate::with_defaults(d.id.to_string(), BUILTIN_OWNER.to_string(), BUILTIN_TIMESTAMP.to_string());
    t.name = d.name.to_string();
    t.description = d.description.to_string();
    t.workflow_type = d.workflow_type;
    t.category = d.category;
    t.default_params = params;
    t.required_tools = list(d.tools);
    t.required_retrievers = list(d.retrievers);
    t.is_builtin = true;
    t.is_public = true;
    t.tags = list(d.tags);
    t.estimated_complexity = Some(d.complexity);
    t.config_hash = crate::hash::config_hash(&t.config());
    t
}

/// All built-in templates, in id order (statistics not applied).
pub fn all() -> &'static [WorkflowTemplate] {
    static ALL: OnceLock<Vec<WorkflowTemplate>> = OnceLock::new();
    ALL.get_or_init(|| DEFS.iter().map(build).collect())
}

pub fn get(id: &str) -> Option<&'static WorkflowTemplate> {
    all().iter().find(|t| t.id == id)
}

/// Built-in by name, compared case-insensitively as names are.
pub fn by_name(name: &str) -> Option<&'static WorkflowTemplate> {
    let key = name.trim().to_lowercase();
    all().iter().find(|t| t.name.to_lowercase() == key)
}

pub fn is_builtin_id(id: &str) -> bool {
    get(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TemplateCategory, WorkflowType};

    #[test]
    fn one_per_category_and_every_type() {
        let all = all();
        assert!(all.len() >= 9);
        for c in TemplateCategory::ALL {
            assert!(all.iter().any(|t| t.category == c), "{c:?}");
        }
        for w in WorkflowType::ALL {
            assert!(all.iter().any(|t| t.workflow_type == w), "{w:?}");
        }
        let mut ids: Vec<_> = all.iter().map(|t| t.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        assert!(ids.iter().all(|id| crate::model::id::is_canonical_id(id)));
    }

    #[test]
    fn every_builtin_is_valid() {
        for t in all() {
            let v = crate::validate::validate_template(
                &t.to_value(),
                crate::validate::Options { complete: true, allow_builtin: true },
            );
            assert!(v.is_empty(), "{}: {v:?}", t.name);
        }
    }

    #[test]
    fn stable_ids_and_hashes() {
        // Ids are a public contract: changing one breaks every template derived from it.
        assert_eq!(get("00000000000000000000000003").unwrap().name, "Code Assistant");
        assert_eq!(by_name("general assistant").unwrap().id, "00000000000000000000000001");
    }
}
