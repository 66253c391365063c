-- Back to 015's trigram indexes (the extension stays: it may predate this migration).
CREATE INDEX idx_template_text_name_trgm ON template_text USING gin (name_lc gin_trgm_ops) WHERE NOT is_builtin;
CREATE INDEX idx_template_text_description_trgm ON template_text USING gin (description_lc gin_trgm_ops) WHERE NOT is_builtin;
DROP INDEX idx_template_text_name_filters_trgm;
DROP INDEX idx_template_text_description_filters_trgm;
