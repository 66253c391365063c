-- Nothing to undo (see 018_text_trigram_stats.up.sql).
SELECT 1;
