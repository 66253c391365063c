-- Nothing to undo (see 016_text_rows.up.sql).
SELECT 1;
