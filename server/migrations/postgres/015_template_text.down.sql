DROP TRIGGER workflow_templates_text_ad ON workflow_templates;
DROP TRIGGER workflow_templates_text_au ON workflow_templates;
DROP TRIGGER workflow_templates_text_ai ON workflow_templates;
DROP FUNCTION wt_template_text_drop();
DROP FUNCTION wt_template_text_put();
DROP TABLE template_text;
CREATE INDEX idx_workflow_templates_name_trgm ON workflow_templates USING gin (name_lc gin_trgm_ops) WHERE NOT is_builtin;
CREATE INDEX idx_workflow_templates_description_trgm ON workflow_templates USING gin (description_lc gin_trgm_ops) WHERE NOT is_builtin;
