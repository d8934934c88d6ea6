-- Step wall times per machine over the last N pipelines of one name.
--
--   psql "$DSN" -v pipeline_name=quickstart -v step=build -f sql/reports/step_times_by_machine.sql
--   psql "$DSN" -v pipeline_name=quickstart -v step=build -v last=20 -f ...
--
-- Variables: pipeline_name (required), step (required: the step's name),
-- last (optional, default 10: how many of the newest pipelines to look at).
-- Only finished, timed steps of each job's final attempt count.
\if :{?last}
\else
  \set last 10
\endif

WITH recent AS (
  SELECT id
  FROM pipelines
  WHERE name = :'pipeline_name'
  ORDER BY submitted_at DESC, id DESC
  LIMIT (:last)::int
)
SELECT m.name                                                          AS machine,
       m.cpu_model                                                     AS cpu,
       count(*)                                                        AS runs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wall_s) AS median_s,
       min(s.wall_s)                                AS min_s,
       max(s.wall_s)                                AS max_s,
       avg(s.user_s + s.sys_s)                      AS mean_cpu_s,
       max(s.max_rss_kb)                                               AS max_rss_kb
FROM steps s
JOIN jobs j     ON j.id = s.job_id AND j.attempt = s.attempt
JOIN recent p   ON p.id = j.pipeline_id
JOIN machines m ON m.id = s.machine_id
WHERE s.name = :'step'
  AND s.timed
  AND s.ended_at IS NOT NULL
  AND s.exit_code = 0
GROUP BY m.name, m.cpu_model
ORDER BY median_s;
