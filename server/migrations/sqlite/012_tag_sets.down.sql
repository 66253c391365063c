-- Nothing to undo (see 012_tag_sets.up.sql).
SELECT 1;
