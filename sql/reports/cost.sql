-- What the last N pipelines cost: per pipeline and job, the agent-minutes
-- its jobs took (each job's start to its end on its agent, every attempt
-- that ran counted once: the final one) and their cost, at the agent's
-- hourly cost (`yardstick-agent --hourly-cost`, else machines.hourly_cost;
-- no cost when neither is set). A row with job '(total)' sums each
-- pipeline.
--
-- Variables: pipeline_name (optional: only that pipeline), last
-- (default 10: pipelines).
--
--   psql "$DSN" -f sql/reports/cost.sql
--   psql "$DSN" -v pipeline_name=ci -v last=50 -f sql/reports/cost.sql
--   yardstick report cost [-v pipeline_name=ci] [-v last=50]
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif
\if :{?last}
\else
  \set last 10
\endif

WITH recent AS (
  SELECT id, name, revision, submitted_at
  FROM pipelines
  WHERE :'pipeline_name' = '' OR name = :'pipeline_name'
  ORDER BY submitted_at DESC, id DESC
  LIMIT (:last)::int
),
ran AS (
  SELECT r.id AS pipeline, r.name, r.revision, r.submitted_at, j.name AS job,
         extract(epoch FROM j.ended_at - j.started_at) / 60 AS minutes,
         COALESCE(a.hourly_cost, m.hourly_cost)          AS hourly_cost
  FROM recent r
  JOIN jobs j          ON j.pipeline_id = r.id
  LEFT JOIN agents a   ON a.id = j.agent_id
  LEFT JOIN machines m ON m.id = j.machine_id
  WHERE j.started_at IS NOT NULL AND j.ended_at IS NOT NULL
)
SELECT pipeline,
       name                                                 AS pipeline_name,
       left(revision, 12)                                   AS revision,
       COALESCE(job, '(total)')                             AS job,
       count(*)                                             AS jobs,
       sum(minutes)                      AS agent_minutes,
       sum(minutes * hourly_cost / 60)   AS cost,
       count(*) FILTER (WHERE hourly_cost IS NULL)          AS jobs_without_cost
FROM ran
GROUP BY GROUPING SETS ((pipeline, name, revision, submitted_at, job),
                        (pipeline, name, revision, submitted_at))
ORDER BY submitted_at DESC, pipeline DESC, job IS NULL, job;
