-- Text discovery over narrow rows (issue 13). `text` (SPEC section 11) is a substring test on
-- the lowercased name and description, and pg_trgm's GIN index only narrows to candidates: every
-- candidate is tested again on its row (the recheck), so a text in many rows reads one heap row
-- per match. Read from `workflow_templates` that is one ~430-byte row per match and, at
-- 1,000,000 templates, every page of a 434 MB table for a word in 10% of them. `template_text`
-- holds only what a text page reads: the filters, the sort keys and the lowercased texts (236 MB
-- at 1,000,000 seeded templates), so the `total` of a text and a page read from its matches
-- (`TextPlan::Matches`) recheck rows half the size and are answered without the wide table; the trigram indexes
-- move here. A walk of the sort's ordered index (`TextPlan::Walk`) still tests the wide rows.
--
-- The rows follow `workflow_templates` through statement triggers (transition tables: one
-- INSERT ... SELECT per writing statement, however many rows it writes), so a write made behind
-- the store's back is followed too; a statement that changes none of the copied columns (most
-- updates do: revision, usage means, timestamps) writes nothing here. `fillfactor` leaves room
-- for HOT updates (a recorded use changes `usage_count`, which no index of this table holds).
-- `TRUNCATE workflow_templates` (an operator's) empties the copy too.
--
-- Writers wait until the copy is taken and the triggers exist (a row written meanwhile by a
-- process of the previous release would otherwise be missing). Readers go on until the old
-- indexes are dropped, the last statements.
LOCK TABLE workflow_templates IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE template_text (
    id VARCHAR(26) NOT NULL PRIMARY KEY,
    owner_id VARCHAR(26) NOT NULL,
    is_builtin BOOLEAN NOT NULL,
    is_public BOOLEAN NOT NULL,
    is_latest BOOLEAN NOT NULL,
    category templatecategory NOT NULL,
    workflow_type workflowtype NOT NULL,
    usage_count BIGINT NOT NULL,
    rating DOUBLE PRECISION,
    rating_count BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    name_lc TEXT NOT NULL,
    name TEXT NOT NULL,
    description_lc TEXT NOT NULL
) WITH (fillfactor = 90);
INSERT INTO template_text (id, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name_lc, name, description_lc)
SELECT id, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name_lc, name, description_lc FROM workflow_templates;
CREATE INDEX idx_template_text_name_trgm ON template_text USING gin (name_lc gin_trgm_ops) WHERE NOT is_builtin;
CREATE INDEX idx_template_text_description_trgm ON template_text USING gin (description_lc gin_trgm_ops) WHERE NOT is_builtin;
ANALYZE template_text;

-- Inserted and updated rows (`wt_new`): copied, unless the copy already holds them; an update
-- that changed an id (never done by the server) first drops the old id's row (`wt_old`).
CREATE FUNCTION wt_template_text_put() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM template_text t USING wt_old o WHERE t.id = o.id AND NOT EXISTS (SELECT 1 FROM wt_new n WHERE n.id = o.id);
    END IF;
    INSERT INTO template_text AS t (id, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name_lc, name, description_lc)
    SELECT id, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name_lc, name, description_lc FROM wt_new
    ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id, is_builtin = excluded.is_builtin, is_public = excluded.is_public, is_latest = excluded.is_latest,
        category = excluded.category, workflow_type = excluded.workflow_type, usage_count = excluded.usage_count, rating = excluded.rating,
        rating_count = excluded.rating_count, updated_ms = excluded.updated_ms, name_lc = excluded.name_lc, name = excluded.name, description_lc = excluded.description_lc
    WHERE (t.owner_id, t.is_builtin, t.is_public, t.is_latest, t.category, t.workflow_type, t.usage_count, t.rating, t.rating_count, t.updated_ms, t.name_lc, t.name, t.description_lc)
        IS DISTINCT FROM (excluded.owner_id, excluded.is_builtin, excluded.is_public, excluded.is_latest, excluded.category, excluded.workflow_type, excluded.usage_count,
        excluded.rating, excluded.rating_count, excluded.updated_ms, excluded.name_lc, excluded.name, excluded.description_lc);
    RETURN NULL;
END
$$;
CREATE FUNCTION wt_template_text_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM template_text t USING wt_old o WHERE t.id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_templates_text_ai AFTER INSERT ON workflow_templates REFERENCING NEW TABLE AS wt_new
FOR EACH STATEMENT EXECUTE FUNCTION wt_template_text_put();
CREATE TRIGGER workflow_templates_text_au AFTER UPDATE ON workflow_templates REFERENCING OLD TABLE AS wt_old NEW TABLE AS wt_new
FOR EACH STATEMENT EXECUTE FUNCTION wt_template_text_put();
CREATE TRIGGER workflow_templates_text_ad AFTER DELETE ON workflow_templates REFERENCING OLD TABLE AS wt_old
FOR EACH STATEMENT EXECUTE FUNCTION wt_template_text_drop();
-- An operator's `TRUNCATE workflow_templates` (no row is deleted, so no delete trigger runs):
-- the copy goes with it, or a text's total would go on counting the rows.
CREATE FUNCTION wt_template_text_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE template_text;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_templates_text_at AFTER TRUNCATE ON workflow_templates
FOR EACH STATEMENT EXECUTE FUNCTION wt_template_text_clear();
-- Last: dropping an index locks its table against readers too (ACCESS EXCLUSIVE) until the
-- commit, so the old trigram indexes go only after the copy and its indexes are built (minutes
-- at 1,000,000 templates, during which readers go on).
DROP INDEX idx_workflow_templates_name_trgm;
DROP INDEX idx_workflow_templates_description_trgm;
