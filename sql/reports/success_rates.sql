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

-- Grouped by the week's timestamp and formatted after: to_char on each
-- job of 12 weeks costs more than the rest of the query. jobs_created
-- (created_at, with pipeline_id and state) answers the jobs' side from the
-- index alone.
SELECT to_char(week, 'YYYY-MM-DD') AS week, pipeline, succeeded, failed, cancelled, success_pct
FROM (
  SELECT date_trunc('week', p.submitted_at AT TIME ZONE 'UTC')          AS week,
         p.name                                                        AS pipeline,
         count(*) FILTER (WHERE j.state = 'succeeded')                 AS succeeded,
         count(*) FILTER (WHERE j.state IN ('failed', 'timed_out'))    AS failed,
         count(*) FILTER (WHERE j.state IN ('cancelled', 'skipped'))   AS cancelled,
         round(100.0 * count(*) FILTER (WHERE j.state = 'succeeded')
               / NULLIF(count(*) FILTER (WHERE j.state IN ('succeeded', 'failed', 'timed_out')),
                        0),
               1)                                                      AS success_pct
  FROM pipelines p
  JOIN jobs j ON j.pipeline_id = p.id
  WHERE p.submitted_at >= now() - make_interval(weeks => (:weeks)::int)
    -- Implied (a job is made with its pipeline or after it), and indexed:
    -- the weeks asked for are read, not the whole history.
    AND j.created_at >= now() - make_interval(weeks => (:weeks)::int)
    AND (:'pipeline_name' = '' OR p.name = :'pipeline_name')
    AND j.state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped')
  GROUP BY 1, 2
) t
ORDER BY t.week DESC, pipeline;
