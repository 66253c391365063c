-- PostgreSQL only (its 014 keeps per-tag counters for the `total` of tag pages). SQLite counts a
-- tag's range of its (tag, sort keys) index, under the issue's 10 ms p50 at 100,000 templates
-- (BENCHMARKS.md "Reference server under load").
SELECT 1;
