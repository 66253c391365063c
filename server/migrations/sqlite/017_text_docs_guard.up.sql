-- Every search document has its template (issue 13). A text's `total` counts the matches in
-- FTS5's content table `template_search_docs` (migration 016); a document whose template is gone
-- would be counted where no page can show it. The row triggers of 016 keep one document per
-- template for every write to `workflow_templates` (insert, REPLACE, id change, delete), so the
-- only way left to such a document is a write to the content table itself: these triggers refuse
-- it in the writing statement, and the query no longer probes each match's template (that probe
-- cost a common word a fifth to a third of its time, BENCHMARKS.md round 7).
--
-- A document left without its template before this migration (written by hand at 016) is
-- deleted first, through the content table's delete trigger so that FTS5's index follows.
DELETE FROM template_search_docs WHERE NOT EXISTS (SELECT 1 FROM workflow_templates w WHERE w.id = template_search_docs.template_id);
CREATE TRIGGER template_search_docs_template_bi BEFORE INSERT ON template_search_docs
WHEN NOT EXISTS (SELECT 1 FROM workflow_templates w WHERE w.id = new.template_id) BEGIN
    SELECT RAISE(ABORT, 'template_search_docs: a search document needs its template (migration 017)');
END;
CREATE TRIGGER template_search_docs_template_bu BEFORE UPDATE OF template_id ON template_search_docs
WHEN NOT EXISTS (SELECT 1 FROM workflow_templates w WHERE w.id = new.template_id) BEGIN
    SELECT RAISE(ABORT, 'template_search_docs: a search document needs its template (migration 017)');
END;
