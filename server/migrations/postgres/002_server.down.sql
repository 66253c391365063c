DROP TABLE idempotency_keys;
DROP TABLE api_tokens;
DROP TABLE builtin_template_stats;
DROP TABLE template_ratings;
ALTER TABLE template_specs DROP COLUMN rev, ALTER COLUMN usage_count TYPE INTEGER;
DROP INDEX idx_workflow_templates_public_latest;
DROP INDEX idx_workflow_templates_name_key_public;
DROP INDEX idx_workflow_templates_owner_name_key;
ALTER TABLE workflow_templates ALTER CONSTRAINT workflow_templates_owner_id_fkey NOT DEFERRABLE;
ALTER TABLE workflow_templates ALTER CONSTRAINT workflow_templates_base_template_id_fkey NOT DEFERRABLE;
ALTER TABLE workflow_templates
    DROP COLUMN name_key,
    DROP COLUMN rev,
    ALTER COLUMN version TYPE INTEGER,
    ALTER COLUMN rating_count TYPE INTEGER,
    ALTER COLUMN usage_count TYPE INTEGER,
    ALTER COLUMN avg_response_time_ms TYPE INTEGER,
    ALTER COLUMN total_tokens_used TYPE INTEGER,
    ALTER COLUMN estimated_complexity TYPE INTEGER;
