-- The exact sums behind the usage means (the schema has no column for them; see the core's
-- store::UsageTotals): one row per template or built-in with recorded usage, written in the
-- same transaction as its statistics. Templates used before this migration get theirs on their
-- next recorded use, derived from the stored means; from then on the means are exact.
CREATE TABLE usage_totals (
    id VARCHAR(26) NOT NULL PRIMARY KEY,
    usage_count BIGINT NOT NULL,
    successes BIGINT NOT NULL,
    response_time_ms BIGINT NOT NULL,
    rev BIGINT NOT NULL DEFAULT 1,
    CONSTRAINT check_usage_totals_range CHECK (successes >= 0 AND successes <= usage_count AND response_time_ms >= 0 AND response_time_ms <= 9007199254740991)
);
