-- Tag pages answered by one ordered index range (issue 13). Each `template_tags` row carries
-- a copy of its template's visibility, category, type and sort keys, so a tag's page is the
-- prefix of a (tag, sort keys) index and its `total` a count of one index range, instead of a
-- walk over every public row probing the tag (or a count over the tag's ids joined back to the
-- table). The copies follow the template: the store inserts tag rows from the template's stored
-- columns, and a trigger rewrites them whenever one of those columns changes (also a write made
-- behind the store's back), so a tag row always orders exactly as its template does.
ALTER TABLE template_tags
    ADD COLUMN owner_id VARCHAR(26),
    ADD COLUMN is_public BOOLEAN,
    ADD COLUMN is_latest BOOLEAN,
    ADD COLUMN category templatecategory,
    ADD COLUMN workflow_type workflowtype,
    ADD COLUMN usage_count BIGINT,
    ADD COLUMN rating DOUBLE PRECISION,
    ADD COLUMN rating_count BIGINT,
    ADD COLUMN name_lc TEXT,
    ADD COLUMN name TEXT,
    ADD COLUMN updated_ms BIGINT;
UPDATE template_tags g SET owner_id = w.owner_id, is_public = w.is_public, is_latest = w.is_latest, category = w.category, workflow_type = w.workflow_type,
    usage_count = w.usage_count, rating = w.rating, rating_count = w.rating_count, name_lc = w.name_lc, name = w.name, updated_ms = w.updated_ms
FROM workflow_templates w WHERE w.id = g.template_id;
ALTER TABLE template_tags
    ALTER COLUMN owner_id SET NOT NULL,
    ALTER COLUMN is_public SET NOT NULL,
    ALTER COLUMN is_latest SET NOT NULL,
    ALTER COLUMN category SET NOT NULL,
    ALTER COLUMN workflow_type SET NOT NULL,
    ALTER COLUMN usage_count SET NOT NULL,
    ALTER COLUMN rating_count SET NOT NULL,
    ALTER COLUMN name_lc SET NOT NULL,
    ALTER COLUMN name SET NOT NULL,
    ALTER COLUMN updated_ms SET NOT NULL;
-- Public latest rows per tag, one index per sort (as 007's pub_* indexes, after the tag).
CREATE INDEX idx_template_tags_pub_popular ON template_tags (tag, usage_count DESC, rating DESC NULLS LAST, name_lc COLLATE "C", name COLLATE "C", template_id COLLATE "C", category, workflow_type) WHERE is_public AND is_latest;
CREATE INDEX idx_template_tags_pub_rating ON template_tags (tag, rating DESC NULLS LAST, rating_count DESC, name_lc COLLATE "C", name COLLATE "C", template_id COLLATE "C", category, workflow_type) WHERE is_public AND is_latest;
CREATE INDEX idx_template_tags_pub_recent ON template_tags (tag, updated_ms DESC, template_id COLLATE "C" DESC, category, workflow_type) WHERE is_public AND is_latest;
CREATE INDEX idx_template_tags_pub_name ON template_tags (tag, name_lc COLLATE "C", name COLLATE "C", template_id COLLATE "C", category, workflow_type) WHERE is_public AND is_latest;
-- One owner's latest rows per tag (an `owner` filter; the viewer's private rows): a range the
-- query sorts itself (an owner's rows under one tag are few next to the public ones).
CREATE INDEX idx_template_tags_own ON template_tags (tag, owner_id, is_public, category, workflow_type) WHERE is_latest;
CREATE FUNCTION wt_template_tags_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE template_tags SET owner_id = NEW.owner_id, is_public = NEW.is_public, is_latest = NEW.is_latest, category = NEW.category, workflow_type = NEW.workflow_type,
        usage_count = NEW.usage_count, rating = NEW.rating, rating_count = NEW.rating_count, name_lc = NEW.name_lc, name = NEW.name, updated_ms = NEW.updated_ms
    WHERE template_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_templates_tags_au AFTER UPDATE ON workflow_templates FOR EACH ROW
WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.is_public IS DISTINCT FROM NEW.is_public OR OLD.is_latest IS DISTINCT FROM NEW.is_latest
  OR OLD.category IS DISTINCT FROM NEW.category OR OLD.workflow_type IS DISTINCT FROM NEW.workflow_type OR OLD.usage_count IS DISTINCT FROM NEW.usage_count
  OR OLD.rating IS DISTINCT FROM NEW.rating OR OLD.rating_count IS DISTINCT FROM NEW.rating_count OR OLD.name_lc IS DISTINCT FROM NEW.name_lc
  OR OLD.name IS DISTINCT FROM NEW.name OR OLD.updated_ms IS DISTINCT FROM NEW.updated_ms)
EXECUTE FUNCTION wt_template_tags_follow();
