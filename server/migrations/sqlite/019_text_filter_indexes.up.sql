-- PostgreSQL only (see its 019_text_filter_indexes.up.sql): SQLite's text matches carry the
-- category and type in FTS5's content table (016).
SELECT 1;
