-- Nothing to undo (see 019_text_filter_indexes.up.sql).
SELECT 1;
