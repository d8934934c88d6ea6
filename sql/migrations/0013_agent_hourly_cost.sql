-- What an hour of an agent costs, as it said at registration
-- (`yardstick-agent --hourly-cost`, in the operator's currency); NULL: not
-- said. Read by sql/reports/cost.sql, before machines.hourly_cost.
ALTER TABLE agents ADD COLUMN hourly_cost numeric CHECK (hourly_cost >= 0);
