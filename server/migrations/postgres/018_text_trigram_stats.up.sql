-- Which part of a text the trigram index is given (issue 13). A text's matches are the rows whose
-- name or description holds it (`strpos`, exact); the GIN trigram indexes of 015 only narrow to
-- candidates, and given the whole text they intersect the posting lists of all its trigrams.
-- A text such as "record number 123" has trigrams in nearly every row ("rec", "num") beside a rare
-- one ("123"): stepping through the common posting lists to confirm each candidate cost 36-55 ms
-- at 1,000,000 templates against 3.6 ms for the rare trigram alone (EXPLAIN ANALYZE, BENCHMARKS.md
-- round 8). These statistics keep, per column, the 1,000 most common trigrams and their row
-- frequencies (an expression's `most_common_elems`, kept up to date by autovacuum's ANALYZE); the
-- server gives the index the rarest 3-character window of the text when it is rare enough and
-- tests the whole text on the candidates (server/src/discover.rs `index_window`). Statistics on
-- an expression need PostgreSQL 14; on 13 the view below is empty and the whole text is given, as
-- before.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'CREATE STATISTICS template_text_name_trgm ON (show_trgm(name_lc)) FROM template_text';
        EXECUTE 'CREATE STATISTICS template_text_description_trgm ON (show_trgm(description_lc)) FROM template_text';
        -- `pg_stats_ext_exprs` lists only the statistics of tables the reading role owns (its
        -- `pg_has_role(c.relowner, 'USAGE')` test runs as the reader), so with `migrate up` run as
        -- the owner and `serve --no-migrate` as a role granted the tables a view over it would be
        -- empty for the server: the view reads through a SECURITY DEFINER function of the
        -- migrating role (the tables' owner) that returns these columns and nothing else
        -- (search_path pinned, the schema fixed when the migration runs).
        EXECUTE format($f$
            CREATE FUNCTION wt_text_trigram_freqs_read()
            RETURNS TABLE (stat text, trigram text, freq float8, n bigint, min_freq float8)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $b$
                SELECT s.statistics_name::text, u.e, u.f::float8, u.n,
                       s.most_common_elem_freqs[array_length(s.most_common_elem_freqs, 1) - 2]::float8
                FROM pg_stats_ext_exprs s
                CROSS JOIN LATERAL unnest(CAST(CAST(s.most_common_elems AS text) AS text[]), s.most_common_elem_freqs) WITH ORDINALITY AS u(e, f, n)
                WHERE s.schemaname = %L AND s.tablename = 'template_text'
                  AND s.statistics_name IN ('template_text_name_trgm', 'template_text_description_trgm') AND u.e IS NOT NULL
            $b$
        $f$, current_schema());
        EXECUTE 'CREATE VIEW wt_text_trigram_freqs AS SELECT stat, trigram, freq, n, min_freq FROM wt_text_trigram_freqs_read()';
    ELSE
        EXECUTE 'CREATE VIEW wt_text_trigram_freqs AS SELECT NULL::text AS stat, NULL::text AS trigram, NULL::float8 AS freq, NULL::bigint AS n, NULL::float8 AS min_freq WHERE false';
    END IF;
END
$$;
ANALYZE template_text;
