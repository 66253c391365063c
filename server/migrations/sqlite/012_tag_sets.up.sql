-- PostgreSQL only (its 012 copies each template's tag set into the tag rows' indexes for pages
-- of two and more tags). SQLite keeps migration 011's plan: the rarest tag's ordered range, each
-- row probed in the primary key for the other tags (at 100,000 templates a two-tag page measured
-- under the issue's 10 ms p50; BENCHMARKS.md "Reference server under load").
SELECT 1;
