-- The trigram statistics of 018 for a server role that does not own `template_text` (issue 13).
-- PostgreSQL's `pg_stats_ext_exprs` lists only the statistics of tables the reading role owns (its
-- `pg_has_role(c.relowner, 'USAGE')` test runs as the role reading the view), so with `migrate up`
-- run as the owner and `serve --no-migrate` as a role granted the tables (server/README.md "Several
-- processes"), `wt_text_trigram_freqs` was empty and no window was ever chosen. The view now reads
-- them through a SECURITY DEFINER function of the migrating role (the tables' owner), which gives
-- the same columns and nothing else: the most common trigrams of the two text columns and their
-- shares of the rows (search_path pinned, the schema fixed when the migration runs).
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
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
        EXECUTE 'DROP VIEW wt_text_trigram_freqs';
        EXECUTE 'CREATE VIEW wt_text_trigram_freqs AS SELECT stat, trigram, freq, n, min_freq FROM wt_text_trigram_freqs_read()';
    END IF;
END
$$;
