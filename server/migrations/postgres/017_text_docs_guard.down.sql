-- Nothing to undo (see 017_text_docs_guard.up.sql).
SELECT 1;
