-- SQLite only (its 016 makes the FTS5 content table a narrow copy of each template's filters and
-- sort keys). PostgreSQL's text rows have been narrow since 015 (`template_text`).
SELECT 1;
