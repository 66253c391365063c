-- A text with a category or type (issue 13). 015's trigram indexes hold the texts alone, so a
-- text in one category read every candidate of the text and dropped the other categories' rows
-- on the heap: "number 37" in category "general" at 1,000,000 templates rechecked 11,111 rows for
-- 1,183 matches (10.9 ms for its count). These GIN indexes hold category and type beside the
-- trigrams (btree_gin gives GIN the equality of scalar columns), so the index intersects them
-- (the count: 2-3 ms), and a text with neither filter reads the trigram entries only, as before
-- (measured the same, BENCHMARKS.md round 8). They replace 015's indexes (the same size).
--
-- btree_gin is a contrib extension trusted since PostgreSQL 13: the database owner may create it.
-- The new indexes are built first and the old ones dropped last, so readers keep an index
-- throughout (writers wait for the builds: ~22 s at 1,000,000 templates).
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX idx_template_text_name_filters_trgm ON template_text USING gin (category, workflow_type, name_lc gin_trgm_ops) WHERE NOT is_builtin;
CREATE INDEX idx_template_text_description_filters_trgm ON template_text USING gin (category, workflow_type, description_lc gin_trgm_ops) WHERE NOT is_builtin;
DROP INDEX idx_template_text_name_trgm;
DROP INDEX idx_template_text_description_trgm;
