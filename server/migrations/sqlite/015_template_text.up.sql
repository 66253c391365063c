-- PostgreSQL only (its 015 moves the trigram indexes to narrow rows). SQLite's text candidates
-- come from its FTS5 trigram index, whose documents are already only the name and description.
SELECT 1;
