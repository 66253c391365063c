-- SQLite equivalent of the seed's migration 001_workflow_templates: enum types become CHECK
-- constraints, JSON and timestamps are TEXT (RFC 3339, UTC), foreign keys are deferrable.

CREATE TABLE workflow_templates (
    id VARCHAR(26) NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    owner_id VARCHAR(26) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    workflow_type VARCHAR(16) NOT NULL CHECK (workflow_type IN ('plain', 'tools', 'rag', 'full')),
    category VARCHAR(32) NOT NULL DEFAULT 'custom' CHECK (category IN ('general', 'customer_support', 'programming', 'research', 'data_analysis', 'creative', 'educational', 'business', 'custom')),
    default_params TEXT NOT NULL DEFAULT '{}',
    required_tools TEXT,
    required_retrievers TEXT,
    base_template_id VARCHAR(26),
    is_builtin BOOLEAN NOT NULL DEFAULT false,
    version INTEGER NOT NULL DEFAULT 1,
    is_latest BOOLEAN NOT NULL DEFAULT true,
    changelog TEXT,
    is_public BOOLEAN NOT NULL DEFAULT false,
    rating REAL,
    rating_count INTEGER NOT NULL DEFAULT 0,
    usage_count INTEGER NOT NULL DEFAULT 0,
    success_rate REAL,
    avg_response_time_ms INTEGER,
    last_used_at TEXT,
    total_tokens_used INTEGER NOT NULL DEFAULT 0,
    total_cost REAL NOT NULL DEFAULT 0.0,
    avg_tokens_per_use REAL,
    tags TEXT,
    extra_metadata TEXT,
    config_hash VARCHAR(64) NOT NULL,
    estimated_complexity INTEGER,
    CONSTRAINT workflow_templates_pkey PRIMARY KEY (id),
    CONSTRAINT workflow_templates_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT workflow_templates_base_template_id_fkey FOREIGN KEY (base_template_id) REFERENCES workflow_templates (id) DEFERRABLE INITIALLY DEFERRED,
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
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    owner_id VARCHAR(26) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    workflow_type VARCHAR(16) NOT NULL CHECK (workflow_type IN ('plain', 'tools', 'rag', 'full')),
    default_params TEXT NOT NULL DEFAULT '{}',
    required_tools TEXT,
    required_retrievers TEXT,
    base_template_name VARCHAR(255),
    usage_count INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT,
    tags TEXT,
    extra_metadata TEXT,
    CONSTRAINT template_specs_pkey PRIMARY KEY (id),
    CONSTRAINT template_specs_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED
);

CREATE INDEX idx_template_specs_owner_id ON template_specs (owner_id);
CREATE INDEX idx_template_specs_name ON template_specs (name);
CREATE INDEX idx_template_specs_workflow_type ON template_specs (workflow_type);
CREATE INDEX idx_template_specs_base_template_name ON template_specs (base_template_name);
