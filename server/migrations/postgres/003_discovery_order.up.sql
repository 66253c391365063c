-- Ordered partial indexes over the public latest templates, one per discovery sort, with keys
-- that order exactly as the catalog does (catalog::discover::order): name_key is the core's
-- Unicode lowercase of the (trimmed) name; COLLATE "C" compares bytes like Rust strings, and
-- NULL ratings sort last. Store::top_public reads a page from them.
CREATE INDEX idx_workflow_templates_top_popular ON workflow_templates (usage_count DESC, rating DESC NULLS LAST, name_key COLLATE "C", name COLLATE "C", id COLLATE "C") WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_top_rating ON workflow_templates (rating DESC NULLS LAST, rating_count DESC, name_key COLLATE "C", name COLLATE "C", id COLLATE "C") WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_top_recent ON workflow_templates (updated_at DESC, id COLLATE "C" DESC) WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_top_name ON workflow_templates (name_key COLLATE "C", name COLLATE "C", id COLLATE "C") WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_owner_public_latest ON workflow_templates (owner_id, is_public, is_latest);
