-- Text discovery over narrow rows on SQLite (issue 13; PostgreSQL's 015 is the model). A text of
-- 3 or more characters is answered from its FTS5 trigram matches: before this migration each
-- match was joined to its `workflow_templates` row (a wide row: config, params, statistics) by
-- id, for the `total` and again for a page read from the matches; a common word (6,000 matches
-- at 100,000 templates) read 6,000 wide rows twice. FTS5's content table,
-- `template_search_docs` (migration 007, keyed by the FTS5 rowid `doc`), already holds the
-- lowercased texts `instr()` rechecks; it now also carries what a text page filters and sorts
-- by, so a match is read by its rowid from the row FTS5 found it in, and only the page's rows
-- are read from `workflow_templates`.
--
-- (FTS5 UNINDEXED columns would be read from this same content table by rowid: no fewer
-- reads, and another rebuild of the index.)
--
-- The copy follows `workflow_templates` through row triggers in the writing transaction, so
-- writes behind the store's back are followed too. Only a change of the texts touches the FTS5
-- index (the content table's update trigger is limited to them): a recorded use or a rating
-- rewrites one narrow row.
DROP TRIGGER template_search_docs_au;
CREATE TRIGGER template_search_docs_au AFTER UPDATE OF doc, name_lc, description_lc ON template_search_docs
WHEN old.doc IS NOT new.doc OR old.name_lc IS NOT new.name_lc OR old.description_lc IS NOT new.description_lc BEGIN
    INSERT INTO template_search (template_search, rowid, name_lc, description_lc) VALUES ('delete', old.doc, old.name_lc, old.description_lc);
    INSERT INTO template_search (rowid, name_lc, description_lc) VALUES (new.doc, new.name_lc, new.description_lc);
END;
ALTER TABLE template_search_docs ADD COLUMN owner_id VARCHAR(26) NOT NULL DEFAULT '';
ALTER TABLE template_search_docs ADD COLUMN is_builtin BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE template_search_docs ADD COLUMN is_public BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE template_search_docs ADD COLUMN is_latest BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE template_search_docs ADD COLUMN category VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE template_search_docs ADD COLUMN workflow_type VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE template_search_docs ADD COLUMN usage_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE template_search_docs ADD COLUMN rating REAL;
ALTER TABLE template_search_docs ADD COLUMN rating_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE template_search_docs ADD COLUMN updated_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE template_search_docs ADD COLUMN name TEXT NOT NULL DEFAULT '';
-- First the content table is made one document per template: before 016 a write behind the
-- server's back could leave a document whose template is gone and a template without one (007's
-- update trigger followed the texts only, so an id changed by hand kept the old id's document
-- and gave the new id none; a REPLACE ran no delete trigger). The orphans are deleted through
-- the delete trigger (their texts are what FTS5 indexed, so its 'delete' is exact), the missing
-- documents inserted through the insert trigger, and texts that differ rewritten through the
-- update trigger above, so FTS5's index follows each; the copy then takes every other column.
-- Each step reads the two tables' id indexes once: no full rebuild of the index.
DELETE FROM template_search_docs WHERE NOT EXISTS (SELECT 1 FROM workflow_templates w WHERE w.id = template_search_docs.template_id);
INSERT INTO template_search_docs (template_id, name_lc, description_lc)
    SELECT w.id, w.name_lc, w.description_lc FROM workflow_templates w WHERE NOT EXISTS (SELECT 1 FROM template_search_docs d WHERE d.template_id = w.id);
UPDATE template_search_docs SET (name_lc, description_lc, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name) =
    (SELECT w.name_lc, w.description_lc, w.owner_id, w.is_builtin, w.is_public, w.is_latest, w.category, w.workflow_type, w.usage_count, w.rating, w.rating_count, w.updated_ms, w.name
     FROM workflow_templates w WHERE w.id = template_search_docs.template_id);

-- Inserted rows: copied whole (an upsert, so a row that reappears under its id, such as an
-- operator's INSERT OR REPLACE, which runs no delete trigger, takes over its document).
DROP TRIGGER workflow_templates_search_ai;
CREATE TRIGGER workflow_templates_search_ai AFTER INSERT ON workflow_templates BEGIN
    INSERT INTO template_search_docs (template_id, name_lc, description_lc, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name)
    VALUES (new.id, new.name_lc, new.description_lc, new.owner_id, new.is_builtin, new.is_public, new.is_latest, new.category, new.workflow_type, new.usage_count, new.rating, new.rating_count, new.updated_ms, new.name)
    ON CONFLICT (template_id) DO UPDATE SET name_lc = excluded.name_lc, description_lc = excluded.description_lc, owner_id = excluded.owner_id, is_builtin = excluded.is_builtin,
        is_public = excluded.is_public, is_latest = excluded.is_latest, category = excluded.category, workflow_type = excluded.workflow_type, usage_count = excluded.usage_count,
        rating = excluded.rating, rating_count = excluded.rating_count, updated_ms = excluded.updated_ms, name = excluded.name;
END;
-- Updated rows: only when a copied column changed (most updates change the revision, usage
-- means or timestamps alone); keyed by the old id, so an id changed by hand moves its document.
-- A document already under the new id first goes through the delete trigger: an `UPDATE OR
-- REPLACE` onto another template's id deletes that template without its delete trigger, and its
-- document, moved over by REPLACE, would leave its entries in FTS5's index under no document.
DROP TRIGGER workflow_templates_search_au;
CREATE TRIGGER workflow_templates_search_au AFTER UPDATE OF id, name_lc, description_lc, owner_id, is_builtin, is_public, is_latest, category, workflow_type, usage_count, rating, rating_count, updated_ms, name ON workflow_templates
WHEN old.id IS NOT new.id OR old.name_lc IS NOT new.name_lc OR old.description_lc IS NOT new.description_lc OR old.owner_id IS NOT new.owner_id OR old.is_builtin IS NOT new.is_builtin
  OR old.is_public IS NOT new.is_public OR old.is_latest IS NOT new.is_latest OR old.category IS NOT new.category OR old.workflow_type IS NOT new.workflow_type
  OR old.usage_count IS NOT new.usage_count OR old.rating IS NOT new.rating OR old.rating_count IS NOT new.rating_count OR old.updated_ms IS NOT new.updated_ms OR old.name IS NOT new.name
BEGIN
    DELETE FROM template_search_docs WHERE old.id IS NOT new.id AND template_id = new.id;
    UPDATE template_search_docs SET template_id = new.id, name_lc = new.name_lc, description_lc = new.description_lc, owner_id = new.owner_id, is_builtin = new.is_builtin,
        is_public = new.is_public, is_latest = new.is_latest, category = new.category, workflow_type = new.workflow_type, usage_count = new.usage_count,
        rating = new.rating, rating_count = new.rating_count, updated_ms = new.updated_ms, name = new.name
    WHERE template_id = old.id;
END;
