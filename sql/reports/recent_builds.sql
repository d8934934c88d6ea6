-- The last N runs of a job, or of one of its steps, per machine, oldest
-- first ("the last 10 builds and their average"): each run's wall time
-- (s), the running average up to it (running_avg_s), the average of the N
-- shown (average_s), its state and whether it was over budget (the job's
-- or, with a step, that step's budget). A job's wall is its start to its
-- end; a step's is its own measured wall time. Only runs that ended count.
--
-- Variables: pipeline_name (required), job (required: the job's name),
-- step (optional: the step's name; without it, the whole job), last
-- (default 10: runs per machine, the latest submitted).
--
--   psql "$DSN" -v pipeline_name=ci -v job=build -f sql/reports/recent_builds.sql
--   psql "$DSN" -v pipeline_name=ci -v job=build -v step=compile -v last=20 -f ...
--   yardstick report recent_builds -v pipeline_name=ci -v job=build [-v step=compile]
\if :{?step}
\else
  \set step ''
\endif
\if :{?last}
\else
  \set last 10
\endif

-- Each machine's latest runs are read newest first through the index
-- jobs_name_machine (job name, machine, id), so the cost is the N runs
-- shown per machine, not the job's whole history.
WITH shown AS (
  SELECT r.*
  FROM machines mc
  CROSS JOIN LATERAL (
    SELECT j.machine_id, p.id AS pipeline, p.revision, j.id AS job_id, j.state,
           CASE WHEN :'step' = '' THEN extract(epoch FROM j.ended_at - j.started_at)::float8
                ELSE s.wall_s END AS wall_s,
           CASE WHEN :'step' = '' THEN j.over_budget
                ELSE EXISTS (SELECT 1 FROM budget_breaches b
                             WHERE b.job_id = j.id AND b.attempt = j.attempt
                               AND b.step_idx = s.idx)
           END AS over_budget,
           COALESCE(s.ended_at, j.ended_at) AS ended_at
    FROM jobs j
    JOIN pipelines p  ON p.id = j.pipeline_id
    LEFT JOIN steps s ON :'step' <> '' AND s.job_id = j.id AND s.attempt = j.attempt
                         AND s.name = :'step'
    WHERE j.name = :'job'
      AND j.machine_id = mc.id
      AND p.name = :'pipeline_name'
      AND j.started_at IS NOT NULL AND j.ended_at IS NOT NULL
      AND (:'step' = '' OR s.ended_at IS NOT NULL AND s.wall_s IS NOT NULL)
    ORDER BY j.id DESC
    LIMIT (:last)::int
  ) r
)
SELECT m.name                                                   AS machine,
       s.pipeline,
       left(s.revision, 12)                                     AS revision,
       s.job_id                                                 AS job,
       s.state,
       s.wall_s                              AS wall_s,
       (avg(s.wall_s) OVER (PARTITION BY s.machine_id ORDER BY s.ended_at, s.job_id
                                  ROWS UNBOUNDED PRECEDING)) AS running_avg_s,
       (avg(s.wall_s) OVER (PARTITION BY s.machine_id)) AS average_s,
       s.over_budget,
       to_char(s.ended_at, 'YYYY-MM-DD HH24:MI:SS')             AS ended_at
FROM shown s
JOIN machines m ON m.id = s.machine_id
ORDER BY m.name, s.ended_at, s.job_id;
