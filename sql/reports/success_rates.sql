-- Jobs that succeeded, failed and were cancelled, per week (Monday, UTC)
-- and pipeline name, with the success rate: succeeded / (succeeded +
-- failed), in %. failed counts failed and timed-out jobs; cancelled
-- counts cancelled and skipped ones; jobs still running are left out.
-- A job counts in the week its pipeline was submitted.
--
-- Variables: weeks (default 12: how many weeks back from now),
-- pipeline_name (optional: only that pipeline).
--
--   psql "$DSN" -f sql/reports/success_rates.sql
--   psql "$DSN" -v weeks=4 -v pipeline_name=ci -f sql/reports/success_rates.sql
--   yardstick report success_rates [-v weeks=4] [-v pipeline_name=ci]
\if :{?weeks}
\else
  \set weeks 12
\endif
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif

SELECT to_char(date_trunc('week', p.submitted_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week,
       p.name                                                        AS pipeline,
       count(*) FILTER (WHERE j.state = 'succeeded')                 AS succeeded,
       count(*) FILTER (WHERE j.state IN ('failed', 'timed_out'))    AS failed,
       count(*) FILTER (WHERE j.state IN ('cancelled', 'skipped'))   AS cancelled,
       round(100.0 * count(*) FILTER (WHERE j.state = 'succeeded')
             / NULLIF(count(*) FILTER (WHERE j.state IN ('succeeded', 'failed', 'timed_out')), 0),
             1)                                                      AS success_pct
FROM pipelines p
JOIN jobs j ON j.pipeline_id = p.id
WHERE p.submitted_at >= now() - make_interval(weeks => (:weeks)::int)
  AND (:'pipeline_name' = '' OR p.name = :'pipeline_name')
  AND j.state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped')
GROUP BY 1, 2
ORDER BY 1 DESC, 2;
