-- Exact `total` of a tag page without counting the tag's rows (issue 13): how many public
-- latest rows of `template_tags` each (tag, category, type) holds, and how many public latest
-- templates each pair of tags (in bytewise order) holds by category and type, from the rows'
-- copies of their template's tag set (`all_tags`, migration 012); kept by the database itself in
-- the transaction that writes the tag rows (statement triggers below, so a write made behind
-- the store's back is counted too). A page of one tag (two tags) takes its public rows from the
-- counters of the category / type asked; the viewer's own private rows are counted live from
-- the owner index (`idx_template_tags_own`: one user's rows under a tag are few), and so are,
-- for two tags, the public rows whose tag set was too large to copy (`idx_template_tags_uncopied`).
-- A template has at most 32 tags (SPEC section 3): at most 496 pairs.
--
-- No counter row is updated in place: a writing statement takes the rows of the counters it
-- moves that no other transaction holds (`FOR UPDATE SKIP LOCKED`), deletes them and inserts
-- their sum plus its own change as one row. A writer never waits for another (concurrent imports
-- in several processes neither queue on a tag's row nor deadlock by taking counters in different
-- orders); a counter keeps about one row per concurrent writer, and its value is the sum of its
-- committed rows. `TRUNCATE template_tags` is not followed (the server never truncates it).
-- Writers wait until the counters are filled and the triggers exist (a row written by a
-- transaction still open when the counts are taken would otherwise never be counted: several
-- processes of the previous release may be writing while one migrates). Readers go on.
LOCK TABLE template_tags IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE tag_counts (
    tag TEXT NOT NULL,
    category templatecategory NOT NULL,
    workflow_type workflowtype NOT NULL,
    n BIGINT NOT NULL
);
INSERT INTO tag_counts (tag, category, workflow_type, n)
SELECT tag, category, workflow_type, COUNT(*) FROM template_tags WHERE is_public AND is_latest GROUP BY 1, 2, 3;
CREATE INDEX idx_tag_counts ON tag_counts (tag, category, workflow_type) INCLUDE (n);
CREATE TABLE tag_pair_counts (
    tag TEXT NOT NULL,
    other TEXT NOT NULL,
    category templatecategory NOT NULL,
    workflow_type workflowtype NOT NULL,
    n BIGINT NOT NULL
);
INSERT INTO tag_pair_counts (tag, other, category, workflow_type, n)
SELECT g.tag, o, g.category, g.workflow_type, COUNT(*) FROM template_tags g CROSS JOIN LATERAL unnest(g.all_tags) o
WHERE g.is_public AND g.is_latest AND o COLLATE "C" > g.tag COLLATE "C" GROUP BY 1, 2, 3, 4;
CREATE INDEX idx_tag_pair_counts ON tag_pair_counts (tag, other, category, workflow_type) INCLUDE (n);
CREATE INDEX idx_template_tags_uncopied ON template_tags (tag, category, workflow_type) WHERE all_tags IS NULL AND is_latest AND is_public;

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

-- The same for pairs of tags.
CREATE FUNCTION wt_tag_pair_counts_move(tags TEXT[], others TEXT[], cats templatecategory[], types workflowtype[], ns BIGINT[]) RETURNS void LANGUAGE sql AS $$
    WITH m AS (
        SELECT * FROM unnest(tags, others, cats, types, ns) AS m(tag, other, category, workflow_type, n)
    ), taken AS (
        SELECT c.ctid AS at FROM tag_pair_counts c
        JOIN m ON c.tag = m.tag AND c.other = m.other AND c.category = m.category AND c.workflow_type = m.workflow_type
        FOR UPDATE OF c SKIP LOCKED
    ), gone AS (
        DELETE FROM tag_pair_counts c WHERE c.ctid = ANY(ARRAY(SELECT at FROM taken)) RETURNING c.tag, c.other, c.category, c.workflow_type, c.n
    )
    INSERT INTO tag_pair_counts (tag, other, category, workflow_type, n)
    SELECT tag, other, category, workflow_type, SUM(n) FROM (SELECT * FROM gone UNION ALL SELECT * FROM m) x GROUP BY 1, 2, 3, 4 HAVING SUM(n) <> 0;
$$;

-- The net change of a statement on `template_tags`: +1 per new public latest row, -1 per old one.
CREATE FUNCTION wt_tag_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t TEXT[]; o TEXT[]; c templatecategory[]; w workflowtype[]; n BIGINT[];
BEGIN
    -- Most updates come from migration 011's copy of a use or a rating (usage_count, rating):
    -- nothing a counter reads changed, so nothing is moved (and no pair is enumerated).
    -- (Nested: an expression naming wt_new is planned whole, and a DELETE has no wt_new.)
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (
            SELECT tag, is_public, is_latest, category, workflow_type, all_tags FROM wt_new
            EXCEPT ALL SELECT tag, is_public, is_latest, category, workflow_type, all_tags FROM wt_old
        ) THEN
            RETURN NULL;
        END IF;
    END IF;
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
    -- Pairs: each template's row of tag A counts (A, B) for every B after A in its tag set.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(tag), array_agg(other), array_agg(category), array_agg(workflow_type), array_agg(d) INTO t, o, c, w, n
        FROM (SELECT g.tag, x AS other, g.category, g.workflow_type, COUNT(*) AS d FROM wt_new g CROSS JOIN LATERAL unnest(g.all_tags) x
              WHERE g.is_public AND g.is_latest AND x COLLATE "C" > g.tag COLLATE "C" GROUP BY 1, 2, 3, 4) m;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(tag), array_agg(other), array_agg(category), array_agg(workflow_type), array_agg(d) INTO t, o, c, w, n
        FROM (SELECT g.tag, x AS other, g.category, g.workflow_type, -COUNT(*) AS d FROM wt_old g CROSS JOIN LATERAL unnest(g.all_tags) x
              WHERE g.is_public AND g.is_latest AND x COLLATE "C" > g.tag COLLATE "C" GROUP BY 1, 2, 3, 4) m;
    ELSE
        SELECT array_agg(tag), array_agg(other), array_agg(category), array_agg(workflow_type), array_agg(d) INTO t, o, c, w, n
        FROM (SELECT tag, other, category, workflow_type, SUM(s) AS d FROM (
                  SELECT g.tag, x AS other, g.category, g.workflow_type, 1 AS s FROM wt_new g CROSS JOIN LATERAL unnest(g.all_tags) x
                  WHERE g.is_public AND g.is_latest AND x COLLATE "C" > g.tag COLLATE "C"
                  UNION ALL SELECT g.tag, x, g.category, g.workflow_type, -1 FROM wt_old g CROSS JOIN LATERAL unnest(g.all_tags) x
                  WHERE g.is_public AND g.is_latest AND x COLLATE "C" > g.tag COLLATE "C") y
              GROUP BY 1, 2, 3, 4 HAVING SUM(s) <> 0) m;
    END IF;
    IF t IS NOT NULL THEN
        PERFORM wt_tag_pair_counts_move(t, o, c, w, n);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER template_tags_counts_ai AFTER INSERT ON template_tags REFERENCING NEW TABLE AS wt_new FOR EACH STATEMENT EXECUTE FUNCTION wt_tag_counts_follow();
CREATE TRIGGER template_tags_counts_ad AFTER DELETE ON template_tags REFERENCING OLD TABLE AS wt_old FOR EACH STATEMENT EXECUTE FUNCTION wt_tag_counts_follow();
CREATE TRIGGER template_tags_counts_au AFTER UPDATE ON template_tags REFERENCING OLD TABLE AS wt_old NEW TABLE AS wt_new FOR EACH STATEMENT EXECUTE FUNCTION wt_tag_counts_follow();
