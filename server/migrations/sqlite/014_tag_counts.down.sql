-- Nothing to undo (see 014_tag_counts.up.sql).
SELECT 1;
