-- Each deploy of the last N (of one pipeline name, or of all): how long each
-- phase took, what the probe counted and how it ended. One row per deploy.
--
-- A phase column is NULL when the deploy never reached it: time_to_healthy_s
-- (from the end of the steps to the first healthy check), stable_s (healthy
-- for min_healthy), switch_s (from the first probe answer naming the new
-- version to the last one naming the old), rollback_s, rollback_verified
-- (true: the health gate passed again after the rollback). steps_s is the
-- sum of the deploy's steps.
--
--   psql "$DSN" -f sql/reports/deploy_phases.sql
--   psql "$DSN" -v pipeline_name=site -v last=50 -f sql/reports/deploy_phases.sql
--   yardstick report deploy_phases -v pipeline_name=site
\if :{?last}
\else
  \set last 20
\endif
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif

WITH recent AS (
  SELECT d.*, j.name AS job_name, j.pipeline_id, p.name AS pipeline_name, p.revision,
         j.machine_id
  FROM deploys d
  JOIN jobs j      ON j.id = d.job_id
  JOIN pipelines p ON p.id = j.pipeline_id
  WHERE :'pipeline_name' = '' OR p.name = :'pipeline_name'
  ORDER BY d.at DESC, d.job_id DESC
  LIMIT (:last)::int
),
phase AS (
  SELECT ph.job_id, ph.attempt, ph.name, ph.ok,
         extract(epoch FROM ph.ended_at - ph.started_at)::double precision AS s
  FROM deploy_phases ph JOIN recent r ON r.job_id = ph.job_id AND r.attempt = ph.attempt
)
SELECT r.pipeline_id                                          AS pipeline,
       r.pipeline_name                                        AS pipeline_name,
       left(r.revision, 12)                                   AS revision,
       r.job_id                                               AS job,
       r.job_name                                             AS job_name,
       COALESCE(m.name, '')                                   AS machine,
       to_char(r.at, 'YYYY-MM-DD HH24:MI:SS')                 AS at,
       r.outcome,
       r.reason,
       (SELECT sum(s) FROM phase
         WHERE job_id = r.job_id AND attempt = r.attempt AND name LIKE 'step %') AS steps_s,
       (SELECT max(s) FROM phase
         WHERE job_id = r.job_id AND attempt = r.attempt AND name = 'healthy')   AS time_to_healthy_s,
       (SELECT max(s) FROM phase
         WHERE job_id = r.job_id AND attempt = r.attempt AND name = 'stable')    AS stable_s,
       (SELECT max(s) FROM phase
         WHERE job_id = r.job_id AND attempt = r.attempt AND name = 'switch')    AS switch_s,
       (SELECT max(s) FROM phase
         WHERE job_id = r.job_id AND attempt = r.attempt AND name = 'rollback')  AS rollback_s,
       (SELECT bool_and(ok) FROM phase
         WHERE job_id = r.job_id AND attempt = r.attempt
           AND name = 'rollback verified')                    AS rollback_verified,
       r.probe_sent                                           AS requests,
       r.probe_failed                                         AS failed_requests,
       r.probe_longest_outage_ms           AS longest_outage_ms,
       r.probe_p99_ms                      AS p99_ms
FROM recent r
LEFT JOIN machines m ON m.id = r.machine_id
ORDER BY r.at DESC, r.job_id DESC;
