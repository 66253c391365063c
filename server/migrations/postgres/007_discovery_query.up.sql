-- Discovery answered by the database (issue 13; SPEC section 11). The core's rules for text,
-- tags and order use Rust's Unicode lowercasing, which PostgreSQL's lower() does not reproduce
-- (it depends on the locale; 'İ' lowers to 'i', Rust gives "i̇"): the store writes the
-- lowercased forms beside each record and the queries compare them with COLLATE "C" (bytes,
-- as the core compares Rust strings).
--   name_lc        name.to_lowercase() (untrimmed): the name sorts and `text` matches it
--   description_lc description.to_lowercase(): `text` matches it
--   updated_ms     updated_at in ms since the epoch (the core compares instants at ms)
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension (13+): a database owner
-- may create it. `down` leaves it installed (it may have been there before).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE workflow_templates ADD COLUMN name_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow_templates ADD COLUMN description_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow_templates ADD COLUMN updated_ms BIGINT NOT NULL DEFAULT 0;

-- Tags, one row per distinct lowercased tag of a template.
CREATE TABLE template_tags (
    template_id VARCHAR(26) NOT NULL,
    tag TEXT NOT NULL,
    CONSTRAINT template_tags_pkey PRIMARY KEY (template_id, tag),
    CONSTRAINT template_tags_template_id_fkey FOREIGN KEY (template_id) REFERENCES workflow_templates (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX idx_template_tags_tag ON template_tags (tag, template_id);

-- Ordered indexes by name_lc / updated_ms (003's sorted by name_key / updated_at): public
-- latest rows, and each owner's latest rows (their own private ones, an `owner` filter).
DROP INDEX idx_workflow_templates_top_popular;
DROP INDEX idx_workflow_templates_top_rating;
DROP INDEX idx_workflow_templates_top_recent;
DROP INDEX idx_workflow_templates_top_name;
CREATE INDEX idx_workflow_templates_pub_popular ON workflow_templates (usage_count DESC, rating DESC NULLS LAST, name_lc COLLATE "C", name COLLATE "C", id COLLATE "C", category, workflow_type) WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_pub_rating ON workflow_templates (rating DESC NULLS LAST, rating_count DESC, name_lc COLLATE "C", name COLLATE "C", id COLLATE "C", category, workflow_type) WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_pub_recent ON workflow_templates (updated_ms DESC, id COLLATE "C" DESC, category, workflow_type) WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_pub_name ON workflow_templates (name_lc COLLATE "C", name COLLATE "C", id COLLATE "C", category, workflow_type) WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_pub_category_type ON workflow_templates (category, workflow_type) WHERE is_public AND is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_own_popular ON workflow_templates (owner_id, is_public, usage_count DESC, rating DESC NULLS LAST, name_lc COLLATE "C", name COLLATE "C", id COLLATE "C", category, workflow_type) WHERE is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_own_rating ON workflow_templates (owner_id, is_public, rating DESC NULLS LAST, rating_count DESC, name_lc COLLATE "C", name COLLATE "C", id COLLATE "C", category, workflow_type) WHERE is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_own_recent ON workflow_templates (owner_id, is_public, updated_ms DESC, id COLLATE "C" DESC, category, workflow_type) WHERE is_latest AND NOT is_builtin;
CREATE INDEX idx_workflow_templates_own_name ON workflow_templates (owner_id, is_public, name_lc COLLATE "C", name COLLATE "C", id COLLATE "C", category, workflow_type) WHERE is_latest AND NOT is_builtin;

-- `text`: trigram GIN indexes answer LIKE '%...%' (pg_trgm rechecks every candidate against
-- the exact LIKE, so the index's own case folding only widens the candidates).
CREATE INDEX idx_workflow_templates_name_trgm ON workflow_templates USING gin (name_lc gin_trgm_ops) WHERE NOT is_builtin;
CREATE INDEX idx_workflow_templates_description_trgm ON workflow_templates USING gin (description_lc gin_trgm_ops) WHERE NOT is_builtin;

-- `total` of the common pages (no text, tag or owner filter, latest only) without counting
-- rows: how many latest stored templates each counter holds: public ones (owner_key '') and
-- each owner's private ones, by category and type. The store moves a row's count in the
-- transaction that writes it.
CREATE TABLE discover_counts (
    owner_key VARCHAR(26) NOT NULL,
    category VARCHAR(32) NOT NULL,
    workflow_type VARCHAR(16) NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (owner_key, category, workflow_type)
);
INSERT INTO discover_counts (owner_key, category, workflow_type, n) SELECT CASE WHEN is_public THEN '' ELSE owner_id END, category::text, workflow_type::text, COUNT(*) FROM workflow_templates WHERE is_latest AND NOT is_builtin GROUP BY 1, 2, 3;
