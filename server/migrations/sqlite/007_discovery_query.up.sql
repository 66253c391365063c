-- Discovery answered by the database (issue 13; SPEC section 11). The core's rules for text,
-- tags and order use Rust's Unicode lowercasing, which neither database reproduces (SQLite's
-- lower() folds ASCII only): the store writes the lowercased forms beside each record and the
-- queries compare them bytewise (BINARY), exactly as the core compares Rust strings.
--   name_lc        name.to_lowercase() (untrimmed): the name sorts and `text` matches it
--   description_lc description.to_lowercase(): `text` matches it
--   updated_ms     updated_at in ms since the epoch (the `recent` sort compares instants)
ALTER TABLE workflow_templates ADD COLUMN name_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow_templates ADD COLUMN description_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow_templates ADD COLUMN updated_ms BIGINT NOT NULL DEFAULT 0;

-- Tags, one row per distinct lowercased tag of a template: `tags` (all must match) is one
-- indexed lookup per tag.
CREATE TABLE template_tags (
    template_id VARCHAR(26) NOT NULL REFERENCES workflow_templates (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    tag TEXT NOT NULL,
    PRIMARY KEY (template_id, tag)
);
CREATE INDEX idx_template_tags_tag ON template_tags (tag, template_id);

-- The ordered indexes of 003 sorted names by name_key (trimmed); these sort by name_lc and
-- updated_ms, as the core does. Public latest rows, and each owner's latest rows (their own
-- private ones, an `owner` filter).
DROP INDEX idx_workflow_templates_top_popular;
DROP INDEX idx_workflow_templates_top_rating;
DROP INDEX idx_workflow_templates_top_recent;
DROP INDEX idx_workflow_templates_top_name;
CREATE INDEX idx_workflow_templates_pub_popular ON workflow_templates (usage_count DESC, rating DESC, name_lc, name, id, category, workflow_type) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_pub_rating ON workflow_templates (rating DESC, rating_count DESC, name_lc, name, id, category, workflow_type) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_pub_recent ON workflow_templates (updated_ms DESC, id DESC, category, workflow_type) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_pub_name ON workflow_templates (name_lc, name, id, category, workflow_type) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_pub_category_type ON workflow_templates (category, workflow_type) WHERE is_public = 1 AND is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_own_popular ON workflow_templates (owner_id, is_public, usage_count DESC, rating DESC, name_lc, name, id, category, workflow_type) WHERE is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_own_rating ON workflow_templates (owner_id, is_public, rating DESC, rating_count DESC, name_lc, name, id, category, workflow_type) WHERE is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_own_recent ON workflow_templates (owner_id, is_public, updated_ms DESC, id DESC, category, workflow_type) WHERE is_latest = 1 AND is_builtin = 0;
CREATE INDEX idx_workflow_templates_own_name ON workflow_templates (owner_id, is_public, name_lc, name, id, category, workflow_type) WHERE is_latest = 1 AND is_builtin = 0;

-- `text`: an FTS5 trigram index (substring matching; case_sensitive 1 because the columns are
-- already lowercased) finds candidates for texts of 3 or more characters, and instr() on the
-- columns decides exactly. FTS5 keys documents by an integer: workflow_templates has no
-- INTEGER PRIMARY KEY (its rowids may change on VACUUM), so template_search_docs holds a
-- stable one, kept by triggers.
CREATE TABLE template_search_docs (
    doc INTEGER PRIMARY KEY,
    template_id VARCHAR(26) NOT NULL UNIQUE,
    name_lc TEXT NOT NULL,
    description_lc TEXT NOT NULL
);
CREATE VIRTUAL TABLE template_search USING fts5(name_lc, description_lc, content='template_search_docs', content_rowid='doc', tokenize='trigram case_sensitive 1');
CREATE TRIGGER template_search_docs_ai AFTER INSERT ON template_search_docs BEGIN
    INSERT INTO template_search (rowid, name_lc, description_lc) VALUES (new.doc, new.name_lc, new.description_lc);
END;
CREATE TRIGGER template_search_docs_ad AFTER DELETE ON template_search_docs BEGIN
    INSERT INTO template_search (template_search, rowid, name_lc, description_lc) VALUES ('delete', old.doc, old.name_lc, old.description_lc);
END;
CREATE TRIGGER template_search_docs_au AFTER UPDATE ON template_search_docs BEGIN
    INSERT INTO template_search (template_search, rowid, name_lc, description_lc) VALUES ('delete', old.doc, old.name_lc, old.description_lc);
    INSERT INTO template_search (rowid, name_lc, description_lc) VALUES (new.doc, new.name_lc, new.description_lc);
END;
CREATE TRIGGER workflow_templates_search_ai AFTER INSERT ON workflow_templates BEGIN
    INSERT INTO template_search_docs (template_id, name_lc, description_lc) VALUES (new.id, new.name_lc, new.description_lc);
END;
CREATE TRIGGER workflow_templates_search_au AFTER UPDATE OF name_lc, description_lc ON workflow_templates
WHEN old.name_lc IS NOT new.name_lc OR old.description_lc IS NOT new.description_lc BEGIN
    UPDATE template_search_docs SET name_lc = new.name_lc, description_lc = new.description_lc WHERE template_id = new.id;
END;
CREATE TRIGGER workflow_templates_search_ad AFTER DELETE ON workflow_templates BEGIN
    DELETE FROM template_search_docs WHERE template_id = old.id;
END;
-- Existing rows (post_up then fills the lowercased columns, which the triggers follow).
INSERT INTO template_search_docs (template_id, name_lc, description_lc) SELECT id, name_lc, description_lc FROM workflow_templates;

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
INSERT INTO discover_counts (owner_key, category, workflow_type, n) SELECT CASE WHEN is_public = 1 THEN '' ELSE owner_id END, category, workflow_type, COUNT(*) FROM workflow_templates WHERE is_latest = 1 AND is_builtin = 0 GROUP BY 1, 2, 3;
