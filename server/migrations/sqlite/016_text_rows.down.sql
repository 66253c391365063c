-- Back to migration 007's content table: the texts only, its triggers as they were.
DROP TRIGGER workflow_templates_search_au;
CREATE TRIGGER workflow_templates_search_au AFTER UPDATE OF name_lc, description_lc ON workflow_templates
WHEN old.name_lc IS NOT new.name_lc OR old.description_lc IS NOT new.description_lc BEGIN
    UPDATE template_search_docs SET name_lc = new.name_lc, description_lc = new.description_lc WHERE template_id = new.id;
END;
DROP TRIGGER workflow_templates_search_ai;
CREATE TRIGGER workflow_templates_search_ai AFTER INSERT ON workflow_templates BEGIN
    INSERT INTO template_search_docs (template_id, name_lc, description_lc) VALUES (new.id, new.name_lc, new.description_lc);
END;
ALTER TABLE template_search_docs DROP COLUMN name;
ALTER TABLE template_search_docs DROP COLUMN updated_ms;
ALTER TABLE template_search_docs DROP COLUMN rating_count;
ALTER TABLE template_search_docs DROP COLUMN rating;
ALTER TABLE template_search_docs DROP COLUMN usage_count;
ALTER TABLE template_search_docs DROP COLUMN workflow_type;
ALTER TABLE template_search_docs DROP COLUMN category;
ALTER TABLE template_search_docs DROP COLUMN is_latest;
ALTER TABLE template_search_docs DROP COLUMN is_public;
ALTER TABLE template_search_docs DROP COLUMN is_builtin;
ALTER TABLE template_search_docs DROP COLUMN owner_id;
DROP TRIGGER template_search_docs_au;
CREATE TRIGGER template_search_docs_au AFTER UPDATE ON template_search_docs BEGIN
    INSERT INTO template_search (template_search, rowid, name_lc, description_lc) VALUES ('delete', old.doc, old.name_lc, old.description_lc);
    INSERT INTO template_search (rowid, name_lc, description_lc) VALUES (new.doc, new.name_lc, new.description_lc);
END;
