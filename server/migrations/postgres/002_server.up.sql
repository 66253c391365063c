-- What the server adds to the seed's schema (see src/migrations.rs).
ALTER TABLE workflow_templates
    ADD COLUMN rev BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN name_key TEXT NOT NULL DEFAULT '',
    ALTER COLUMN version TYPE BIGINT,
    ALTER COLUMN rating_count TYPE BIGINT,
    ALTER COLUMN usage_count TYPE BIGINT,
    ALTER COLUMN avg_response_time_ms TYPE BIGINT,
    ALTER COLUMN total_tokens_used TYPE BIGINT,
    ALTER COLUMN estimated_complexity TYPE BIGINT;
ALTER TABLE workflow_templates ALTER CONSTRAINT workflow_templates_base_template_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE workflow_templates ALTER CONSTRAINT workflow_templates_owner_id_fkey DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX idx_workflow_templates_owner_name_key ON workflow_templates (owner_id, name_key, is_latest);
CREATE INDEX idx_workflow_templates_name_key_public ON workflow_templates (name_key, is_public, is_latest);
CREATE INDEX idx_workflow_templates_public_latest ON workflow_templates (is_public, is_latest, category);

ALTER TABLE template_specs
    ADD COLUMN rev BIGINT NOT NULL DEFAULT 1,
    ALTER COLUMN usage_count TYPE BIGINT;

-- No foreign key to workflow_templates: like every adapter of the storage contract, a rating
-- may outlive its template within a batch (the catalog deletes both in one commit).
CREATE TABLE template_ratings (
    template_id VARCHAR(26) NOT NULL,
    user_id VARCHAR(26) NOT NULL,
    stars FLOAT NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    rev BIGINT NOT NULL DEFAULT 1,
    CONSTRAINT template_ratings_pkey PRIMARY KEY (template_id, user_id),
    CONSTRAINT template_ratings_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT check_stars_range CHECK (stars >= 0.0 AND stars <= 5.0)
);
CREATE INDEX idx_template_ratings_user_id ON template_ratings (user_id);

CREATE TABLE builtin_template_stats (
    id VARCHAR(26) NOT NULL,
    rating FLOAT,
    rating_count BIGINT NOT NULL DEFAULT 0,
    usage_count BIGINT NOT NULL DEFAULT 0,
    success_rate FLOAT,
    avg_response_time_ms BIGINT,
    last_used_at TIMESTAMP WITH TIME ZONE,
    total_tokens_used BIGINT NOT NULL DEFAULT 0,
    total_cost FLOAT NOT NULL DEFAULT 0.0,
    avg_tokens_per_use FLOAT,
    rev BIGINT NOT NULL DEFAULT 1,
    CONSTRAINT builtin_template_stats_pkey PRIMARY KEY (id),
    CONSTRAINT builtin_template_stats_id_fkey FOREIGN KEY (id) REFERENCES workflow_templates (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT check_builtin_rating_range CHECK (rating >= 0.0 AND rating <= 5.0),
    CONSTRAINT check_builtin_success_rate_range CHECK (success_rate >= 0.0 AND success_rate <= 1.0)
);

CREATE TABLE api_tokens (
    token_hash VARCHAR(64) NOT NULL,
    user_id VARCHAR(26) NOT NULL,
    label VARCHAR(255) NOT NULL DEFAULT '',
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT api_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX idx_api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE idempotency_keys (
    user_id VARCHAR(26) NOT NULL,
    idem_key VARCHAR(255) NOT NULL,
    request_hash VARCHAR(64) NOT NULL,
    status INTEGER,
    response TEXT,
    resource_id VARCHAR(26),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, idem_key),
    CONSTRAINT idempotency_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at);
