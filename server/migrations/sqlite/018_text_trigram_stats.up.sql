-- PostgreSQL only (see its 018_text_trigram_stats.up.sql); a rare text costs SQLite's FTS5 3-4 ms
-- at 100,000 templates (BENCHMARKS.md round 8).
SELECT 1;
