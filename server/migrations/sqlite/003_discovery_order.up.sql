-- Ordered partial indexes over the public latest templates, one per discovery sort, with keys
-- that order exactly as the catalog does (catalog::discover::order): name_key is the core's
-- Unicode lowercase of the (trimmed) name, compared bytewise like Rust strings; SQLite's DESC
-- puts NULL ratings last, as the catalog does. Store::top_public reads a page from them.
CREATE INDEX idx_workflow_templates_top_popular ON workflow_templates (usage_count DESC, rating DESC, name_key, name, id) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_top_rating ON workflow_templates (rating DESC, rating_count DESC, name_key, name, id) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_top_recent ON workflow_templates (updated_at DESC, id DESC) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_top_name ON workflow_templates (name_key, name, id) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_owner_public_latest ON workflow_templates (owner_id, is_public, is_latest);
