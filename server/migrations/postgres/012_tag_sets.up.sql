-- Pages of two and more tags answered from one tag's ordered index range (issue 13). Each
-- `template_tags` row carries the set of its template's tags (`all_tags`, the distinct lowercased
-- tags, as `discover::tag_keys` computes them), and the (tag, sort keys) indexes of migration 011
-- carry it as an INCLUDE column: a page of tags A and B walks A's range and tests
-- `all_tags @> ARRAY[B]` inside the index (an index-only scan, no probe per row), and its total
-- counts A's range the same way. A set whose tags take more than 256 bytes is not copied
-- (`all_tags` NULL; an index entry stays far under PostgreSQL's ~2,700-byte limit): such a row is
-- tested by a probe of the primary key, as before. The store writes the column with the tag rows
-- (a template's tag rows are rewritten whenever its tag set changes).
DROP INDEX idx_template_tags_own;
DROP INDEX idx_template_tags_pub_name;
DROP INDEX idx_template_tags_pub_recent;
DROP INDEX idx_template_tags_pub_rating;
DROP INDEX idx_template_tags_pub_popular;
ALTER TABLE template_tags ADD COLUMN all_tags TEXT[];
UPDATE template_tags g SET all_tags = s.tags
FROM (SELECT template_id, array_agg(tag ORDER BY tag COLLATE "C") AS tags FROM template_tags GROUP BY template_id HAVING SUM(octet_length(tag)) <= 256) s
WHERE s.template_id = g.template_id;
CREATE INDEX idx_template_tags_pub_popular ON template_tags (tag, usage_count DESC, rating DESC NULLS LAST, name_lc COLLATE "C", name COLLATE "C", template_id COLLATE "C", category, workflow_type) INCLUDE (all_tags) WHERE is_public AND is_latest;
CREATE INDEX idx_template_tags_pub_rating ON template_tags (tag, rating DESC NULLS LAST, rating_count DESC, name_lc COLLATE "C", name COLLATE "C", template_id COLLATE "C", category, workflow_type) INCLUDE (all_tags) WHERE is_public AND is_latest;
CREATE INDEX idx_template_tags_pub_recent ON template_tags (tag, updated_ms DESC, template_id COLLATE "C" DESC, category, workflow_type) INCLUDE (all_tags) WHERE is_public AND is_latest;
CREATE INDEX idx_template_tags_pub_name ON template_tags (tag, name_lc COLLATE "C", name COLLATE "C", template_id COLLATE "C", category, workflow_type) INCLUDE (all_tags) WHERE is_public AND is_latest;
CREATE INDEX idx_template_tags_own ON template_tags (tag, owner_id, is_public, category, workflow_type) INCLUDE (all_tags) WHERE is_latest;
