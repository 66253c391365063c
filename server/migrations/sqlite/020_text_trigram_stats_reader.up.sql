-- PostgreSQL only (see its 020_text_trigram_stats_reader.up.sql).
SELECT 1;
