-- Budget breaches of the last N pipelines of a name: which job on which
-- machine went over which budget, by how much, and whether it failed the job.
--
--   psql "$DSN" -v pipeline_name=build-speed -f sql/reports/over_budget.sql
--   psql "$DSN" -v pipeline_name=build-speed -v last=50 -f sql/reports/over_budget.sql
--   yardstick report over_budget -v pipeline_name=build-speed
\if :{?last}
\else
  \set last 10
\endif

WITH recent AS (
  SELECT p.id, p.revision, p.submitted_at
  FROM pipelines p
  WHERE p.name = :'pipeline_name'
  ORDER BY p.submitted_at DESC, p.id DESC
  LIMIT (:last)::int
)
SELECT r.id                                   AS pipeline,
       left(r.revision, 12)                   AS revision,
       j.id                                   AS job,
       j.name                                 AS job_name,
       COALESCE(m.name, '')                   AS machine,
       COALESCE(s.name, '')                   AS step,
       b.budget,
       b.actual            AS actual,
       b.fails_job,
       to_char(b.at, 'YYYY-MM-DD HH24:MI:SS') AS at
FROM recent r
JOIN jobs j             ON j.pipeline_id = r.id
JOIN budget_breaches b  ON b.job_id = j.id AND b.attempt = j.attempt
LEFT JOIN machines m    ON m.id = j.machine_id
LEFT JOIN steps s       ON s.job_id = j.id AND s.attempt = j.attempt AND s.idx = b.step_idx
ORDER BY r.submitted_at DESC, r.id DESC, j.id, b.id;
