-- The seed's migration 001_workflow_templates, reproduced: enum types, both tables with every
-- NOT NULL / DEFAULT / CHECK / foreign key, and the 13 named indexes.
CREATE TYPE workflowtype AS ENUM ('plain', 'tools', 'rag', 'full');
CREATE TYPE templatecategory AS ENUM (
    'general', 'customer_support', 'programming', 'research', 'data_analysis',
    'creative', 'educational', 'business', 'custom'
);

CREATE TABLE workflow_templates (
    id VARCHAR(26) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    owner_id VARCHAR(26) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    workflow_type workflowtype NOT NULL,
    category templatecategory NOT NULL DEFAULT 'custom',
    default_params JSON NOT NULL DEFAULT '{}',
    required_tools JSON,
    required_retrievers JSON,
    base_template_id VARCHAR(26),
    is_builtin BOOLEAN NOT NULL DEFAULT false,
    version INTEGER NOT NULL DEFAULT 1,
    is_latest BOOLEAN NOT NULL DEFAULT true,
    changelog TEXT,
    is_public BOOLEAN NOT NULL DEFAULT false,
    rating FLOAT,
    rating_count INTEGER NOT NULL DEFAULT 0,
    usage_count INTEGER NOT NULL DEFAULT 0,
    success_rate FLOAT,
    avg_response_time_ms INTEGER,
    last_used_at TIMESTAMP WITH TIME ZONE,
    total_tokens_used INTEGER NOT NULL DEFAULT 0,
    total_cost FLOAT NOT NULL DEFAULT 0.0,
    avg_tokens_per_use FLOAT,
    tags JSON,
    extra_metadata JSON,
    config_hash VARCHAR(64) NOT NULL,
    estimated_complexity INTEGER,
    CONSTRAINT workflow_templates_pkey PRIMARY KEY (id),
    CONSTRAINT workflow_templates_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id),
    CONSTRAINT workflow_templates_base_template_id_fkey FOREIGN KEY (base_template_id) REFERENCES workflow_templates (id),
    CONSTRAINT check_rating_range CHECK (rating >= 0.0 AND rating <= 5.0),
    CONSTRAINT check_success_rate_range CHECK (success_rate >= 0.0 AND success_rate <= 1.0)
);

CREATE INDEX idx_workflow_templates_owner_id ON workflow_templates (owner_id);
CREATE INDEX idx_workflow_templates_name ON workflow_templates (name);
CREATE INDEX idx_workflow_templates_workflow_type ON workflow_templates (workflow_type);
CREATE INDEX idx_workflow_templates_category ON workflow_templates (category);
CREATE INDEX idx_workflow_templates_base_template_id ON workflow_templates (base_template_id);
CREATE INDEX idx_workflow_templates_is_builtin ON workflow_templates (is_builtin);
CREATE INDEX idx_workflow_templates_is_latest ON workflow_templates (is_latest);
CREATE INDEX idx_workflow_templates_is_public ON workflow_templates (is_public);
CREATE INDEX idx_workflow_templates_config_hash ON workflow_templates (config_hash);

CREATE TABLE template_specs (
    id VARCHAR(26) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    owner_id VARCHAR(26) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    workflow_type workflowtype NOT NULL,
    default_params JSON NOT NULL DEFAULT '{}',
    required_tools JSON,
    required_retrievers JSON,
    base_template_name VARCHAR(255),
    usage_count INTEGER NOT NULL DEFAULT 0,
    last_used_at TIMESTAMP WITH TIME ZONE,
    tags JSON,
    extra_metadata JSON,
    CONSTRAINT template_specs_pkey PRIMARY KEY (id),
    CONSTRAINT template_specs_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id)
);

CREATE INDEX idx_template_specs_owner_id ON template_specs (owner_id);
CREATE INDEX idx_template_specs_name ON template_specs (name);
CREATE INDEX idx_template_specs_workflow_type ON template_specs (workflow_type);
CREATE INDEX idx_template_specs_base_template_name ON template_specs (base_template_name);
