-- Deploys per week (of one pipeline name, or of all) over the last N weeks:
-- how many ran, succeeded, were rolled back, failed without a rollback or
-- with one that failed, and the median time to healthy (from the end of the
-- steps to the first healthy check) of those that got there.
--
--   psql "$DSN" -f sql/reports/deploy_success_rates.sql
--   psql "$DSN" -v pipeline_name=site -v weeks=26 -f sql/reports/deploy_success_rates.sql
--   yardstick report deploy_success_rates -v pipeline_name=site
\if :{?weeks}
\else
  \set weeks 12
\endif
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif

WITH d AS (
  SELECT d.job_id, d.attempt, d.outcome, date_trunc('week', d.at) AS week
  FROM deploys d
  JOIN jobs j      ON j.id = d.job_id
  JOIN pipelines p ON p.id = j.pipeline_id
  WHERE (:'pipeline_name' = '' OR p.name = :'pipeline_name')
    AND d.at >= date_trunc('week', now()) - ((:weeks)::int - 1) * interval '1 week'
),
healthy AS (
  SELECT ph.job_id, ph.attempt,
         extract(epoch FROM ph.ended_at - ph.started_at)::double precision AS s
  FROM deploy_phases ph JOIN d ON d.job_id = ph.job_id AND d.attempt = ph.attempt
  WHERE ph.name = 'healthy'
)
SELECT to_char(d.week, 'YYYY-MM-DD')                                   AS week,
       count(*)                                                        AS deploys,
       count(*) FILTER (WHERE d.outcome = 'succeeded')                 AS succeeded,
       count(*) FILTER (WHERE d.outcome = 'rolled back')               AS rolled_back,
       count(*) FILTER (WHERE d.outcome IN ('failed', 'rollback failed')) AS failed,
       round(100.0 * count(*) FILTER (WHERE d.outcome = 'succeeded') / count(*), 1)
                                                                       AS success_pct,
       (percentile_cont(0.5) WITHIN GROUP (ORDER BY h.s))
                                                                       AS median_time_to_healthy_s
FROM d
LEFT JOIN healthy h ON h.job_id = d.job_id AND h.attempt = d.attempt
GROUP BY d.week
ORDER BY d.week DESC;
