-- Back to 018's view, which reads `pg_stats_ext_exprs` as the role reading it.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'DROP VIEW wt_text_trigram_freqs';
        EXECUTE $v$
            CREATE VIEW wt_text_trigram_freqs AS
            SELECT s.statistics_name::text AS stat, u.e AS trigram, u.f::float8 AS freq, u.n AS n,
                   s.most_common_elem_freqs[array_length(s.most_common_elem_freqs, 1) - 2]::float8 AS min_freq
            FROM pg_stats_ext_exprs s
            CROSS JOIN LATERAL unnest(CAST(CAST(s.most_common_elems AS text) AS text[]), s.most_common_elem_freqs) WITH ORDINALITY AS u(e, f, n)
            WHERE s.schemaname = current_schema() AND s.tablename = 'template_text'
              AND s.statistics_name IN ('template_text_name_trgm', 'template_text_description_trgm') AND u.e IS NOT NULL
        $v$;
    END IF;
END
$$;
DROP FUNCTION IF EXISTS wt_text_trigram_freqs_read();
