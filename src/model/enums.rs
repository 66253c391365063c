use serde::{Deserialize, Serialize};

/// What a workflow needs at run time. The names are the schema's enum values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowType {
    Plain,
    Tools,
    Rag,
    Full,
}

impl WorkflowType {
    pub const ALL: [WorkflowType; 4] = [WorkflowType::Plain, WorkflowType::Tools, WorkflowType::Rag, WorkflowType::Full];
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowType::Plain => "plain",
            WorkflowType::Tools => "tools",
            WorkflowType::Rag => "rag",
            WorkflowType::Full => "full",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// (needs tools, needs retrievers) for SPEC section 3's type consistency rule.
    pub fn needs(self) -> (bool, bool) {
        match self {
            WorkflowType::Plain => (false, false),
            WorkflowType::Tools => (true, false),
            WorkflowType::Rag => (false, true),
            WorkflowType::Full => (true, true),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    General,
    CustomerSupport,
    Programming,
    Research,
    DataAnalysis,
    Creative,
    Educational,
    Business,
    #[default]
    Custom,
}

impl TemplateCategory {
    pub const ALL: [TemplateCategory; 9] = [
        TemplateCategory::General,
        TemplateCategory::CustomerSupport,
        TemplateCategory::Programming,
        TemplateCategory::Research,
        TemplateCategory::DataAnalysis,
        TemplateCategory::Creative,
        TemplateCategory::Educational,
        TemplateCategory::Business,
        TemplateCategory::Custom,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateCategory::General => "general",
            TemplateCategory::CustomerSupport => "customer_support",
            TemplateCategory::Programming => "programming",
            TemplateCategory::Research => "research",
            TemplateCategory::DataAnalysis => "data_analysis",
            TemplateCategory::Creative => "creative",
            TemplateCategory::Educational => "educational",
            TemplateCategory::Business => "business",
            TemplateCategory::Custom => "custom",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}
