-- Tag pages answered by one ordered index range (issue 13). Each `template_tags` row carries
-- a copy of its template's visibility, category, type and sort keys, so a tag's page is the
-- prefix of a (tag, sort keys) index and its `total` a count of one index range, instead of a
-- walk over every public row probing the tag (or a count over the tag's ids joined back to the
-- table). The copies follow the template: the store inserts tag rows from the template's stored
-- columns, and a trigger rewrites them whenever one of those columns changes (also a write made
-- behind the store's back), so a tag row always orders exactly as its template does.
CREATE TABLE template_tags_keyed (
    template_id VARCHAR(26) NOT NULL REFERENCES workflow_templates (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    tag TEXT NOT NULL,
    owner_id VARCHAR(26) NOT NULL,
    is_public BOOLEAN NOT NULL,
    is_latest BOOLEAN NOT NULL,
    category VARCHAR(32) NOT NULL,
    workflow_type VARCHAR(16) NOT NULL,
    usage_count BIGINT NOT NULL,
    rating DOUBLE PRECISION,
    rating_count BIGINT NOT NULL,
    name_lc TEXT NOT NULL,
    name TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (template_id, tag)
);
INSERT INTO template_tags_keyed
SELECT g.template_id, g.tag, w.owner_id, w.is_public, w.is_latest, w.category, w.workflow_type, w.usage_count, w.rating, w.rating_count, w.name_lc, w.name, w.updated_ms
FROM template_tags g JOIN workflow_templates w ON w.id = g.template_id;
DROP TABLE template_tags;
ALTER TABLE template_tags_keyed RENAME TO template_tags;
CREATE INDEX idx_template_tags_tag ON template_tags (tag, template_id);
-- Public latest rows per tag, one index per sort (as 007's pub_* indexes, after the tag).
CREATE INDEX idx_template_tags_pub_popular ON template_tags (tag, usage_count DESC, rating DESC, name_lc, name, template_id, category, workflow_type) WHERE is_public = 1 AND is_latest = 1;
CREATE INDEX idx_template_tags_pub_rating ON template_tags (tag, rating DESC, rating_count DESC, name_lc, name, template_id, category, workflow_type) WHERE is_public = 1 AND is_latest = 1;
CREATE INDEX idx_template_tags_pub_recent ON template_tags (tag, updated_ms DESC, template_id DESC, category, workflow_type) WHERE is_public = 1 AND is_latest = 1;
CREATE INDEX idx_template_tags_pub_name ON template_tags (tag, name_lc, name, template_id, category, workflow_type) WHERE is_public = 1 AND is_latest = 1;
-- One owner's latest rows per tag (an `owner` filter; the viewer's private rows): a range the
-- query sorts itself (an owner's rows under one tag are few next to the public ones).
CREATE INDEX idx_template_tags_own ON template_tags (tag, owner_id, is_public, category, workflow_type) WHERE is_latest = 1;
CREATE TRIGGER workflow_templates_tags_au AFTER UPDATE OF owner_id, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, name_lc, name, updated_ms ON workflow_templates
WHEN old.owner_id IS NOT new.owner_id OR old.is_public IS NOT new.is_public OR old.is_latest IS NOT new.is_latest OR old.category IS NOT new.category
  OR old.workflow_type IS NOT new.workflow_type OR old.usage_count IS NOT new.usage_count OR old.rating IS NOT new.rating OR old.rating_count IS NOT new.rating_count
  OR old.name_lc IS NOT new.name_lc OR old.name IS NOT new.name OR old.updated_ms IS NOT new.updated_ms
BEGIN
    UPDATE template_tags SET owner_id = new.owner_id, is_public = new.is_public, is_latest = new.is_latest, category = new.category, workflow_type = new.workflow_type,
        usage_count = new.usage_count, rating = new.rating, rating_count = new.rating_count, name_lc = new.name_lc, name = new.name, updated_ms = new.updated_ms
    WHERE template_id = new.id;
END;
