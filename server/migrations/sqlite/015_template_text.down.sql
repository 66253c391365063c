-- Nothing to undo (see 015_template_text.up.sql).
SELECT 1;
