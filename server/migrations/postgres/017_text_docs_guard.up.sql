-- SQLite only (see 017_text_docs_guard.up.sql): PostgreSQL's `template_text` (015) is kept by
-- statement triggers from `workflow_templates` and a text reads no other table.
SELECT 1;
