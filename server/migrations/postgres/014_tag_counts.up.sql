-- Exact `total` of a tag page without counting the tag's rows (issue 13): how many public
-- latest rows of `template_tags` each (tag, category, type) holds, kept by the database itself
-- in the transaction that writes the tag rows (statement triggers below, so a write made behind
-- the store's back is counted too). A tag page's total is the sum of its tag's counters (of the
-- category / type asked) plus the viewer's own private rows, counted live from the owner index
-- (`idx_template_tags_own`: one user's rows under a tag are few).
--
-- No counter row is updated in place: a writing statement takes the rows of the counters it
-- moves that no other transaction holds (`FOR UPDATE SKIP LOCKED`), deletes them and inserts
-- their sum plus its own change as one row. A writer never waits for another (concurrent imports
-- in several processes neither queue on a tag's row nor deadlock by taking counters in different
-- orders); a counter keeps about one row per concurrent writer, and its value is the sum of its
-- committed rows. `TRUNCATE template_tags` is not followed (the server never truncates it).
CREATE TABLE tag_counts (
    tag TEXT NOT NULL,
    category templatecategory NOT NULL,
    workflow_type workflowtype NOT NULL,
    n BIGINT NOT NULL
);
INSERT INTO tag_counts (tag, category, workflow_type, n)
SELECT tag, category, workflow_type, COUNT(*) FROM template_tags WHERE is_public AND is_latest GROUP BY 1, 2, 3;
CREATE INDEX idx_tag_counts ON tag_counts (tag, category, workflow_type) INCLUDE (n);

-- Moves counters by the given net changes (parallel arrays), folding each counter's free rows.
CREATE FUNCTION wt_tag_counts_move(tags TEXT[], cats templatecategory[], types workflowtype[], ns BIGINT[]) RETURNS void LANGUAGE sql AS $$
    WITH m AS (
        SELECT * FROM unnest(tags, cats, types, ns) AS m(tag, category, workflow_type, n)
    ), taken AS (
        SELECT c.ctid AS at FROM tag_counts c JOIN m ON c.tag = m.tag AND c.category = m.category AND c.workflow_type = m.workflow_type
        FOR UPDATE OF c SKIP LOCKED
    ), gone AS (
        DELETE FROM tag_counts c WHERE c.ctid = ANY(ARRAY(SELECT at FROM taken)) RETURNING c.tag, c.category, c.workflow_type, c.n
    )
    INSERT INTO tag_counts (tag, category, workflow_type, n)
    SELECT tag, category, workflow_type, SUM(n) FROM (SELECT * FROM gone UNION ALL SELECT * FROM m) x GROUP BY 1, 2, 3 HAVING SUM(n) <> 0;
$$;

-- The net change of a statement on `template_tags`: +1 per new public latest row, -1 per old one.
CREATE FUNCTION wt_tag_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t TEXT[]; c templatecategory[]; w workflowtype[]; n BIGINT[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(tag), array_agg(category), array_agg(workflow_type), array_agg(d) INTO t, c, w, n
        FROM (SELECT tag, category, workflow_type, COUNT(*) AS d FROM wt_new WHERE is_public AND is_latest GROUP BY 1, 2, 3) m;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(tag), array_agg(category), array_agg(workflow_type), array_agg(d) INTO t, c, w, n
        FROM (SELECT tag, category, workflow_type, -COUNT(*) AS d FROM wt_old WHERE is_public AND is_latest GROUP BY 1, 2, 3) m;
    ELSE
        SELECT array_agg(tag), array_agg(category), array_agg(workflow_type), array_agg(d) INTO t, c, w, n
        FROM (SELECT tag, category, workflow_type, SUM(s) AS d FROM (
                  SELECT tag, category, workflow_type, 1 AS s FROM wt_new WHERE is_public AND is_latest
                  UNION ALL SELECT tag, category, workflow_type, -1 FROM wt_old WHERE is_public AND is_latest) x
              GROUP BY 1, 2, 3 HAVING SUM(s) <> 0) m;
    END IF;
    IF t IS NOT NULL THEN
        PERFORM wt_tag_counts_move(t, c, w, n);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER template_tags_counts_ai AFTER INSERT ON template_tags REFERENCING NEW TABLE AS wt_new FOR EACH STATEMENT EXECUTE FUNCTION wt_tag_counts_follow();
CREATE TRIGGER template_tags_counts_ad AFTER DELETE ON template_tags REFERENCING OLD TABLE AS wt_old FOR EACH STATEMENT EXECUTE FUNCTION wt_tag_counts_follow();
CREATE TRIGGER template_tags_counts_au AFTER UPDATE ON template_tags REFERENCING OLD TABLE AS wt_old NEW TABLE AS wt_new FOR EACH STATEMENT EXECUTE FUNCTION wt_tag_counts_follow();
