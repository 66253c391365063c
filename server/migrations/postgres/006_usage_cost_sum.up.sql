-- The exact sum of the recorded costs behind total_cost (store::UsageTotals::cost_sum): a JSON
-- array of finite doubles (Shewchuk's non-overlapping partials), so total_cost is the correctly
-- rounded sum whatever the order of the uses. NULL in rows written before it: the next recorded
-- use derives it from the template's stored total_cost.
ALTER TABLE usage_totals ADD COLUMN cost_sum JSON;
