-- Machine calibrations (docs/benchmarks.md, "Machine calibration"): each
-- micro-benchmark's median time and noise per calibration, newest first.
-- noise is 1.4826 x the median absolute deviation of the log times (a
-- robust relative spread: 0.02 means runs typically 2 % apart).
--
--   psql "$DSN" -f sql/reports/machine_calibrations.sql
--   psql "$DSN" -v machine=ci-runner -v last=5 -f sql/reports/machine_calibrations.sql
--   yardstick report machine_calibrations [-v machine=NAME] [-v job=ID] [-v last=N]
\if :{?machine}
\else
  \set machine ''
\endif
\if :{?job}
\else
  \set job 0
\endif
\if :{?last}
\else
  \set last 10
\endif

WITH calibrations AS (
  SELECT c.job_id, min(c.at) AS at
  FROM machine_calibrations c
  JOIN machines m ON m.id = c.machine_id
  WHERE (:'machine' = '' OR m.name = :'machine')
    AND ((:job)::bigint = 0 OR c.job_id = (:job)::bigint)
  GROUP BY c.job_id
  ORDER BY min(c.at) DESC, c.job_id DESC
  LIMIT (:last)::int
)
SELECT m.name                                        AS machine,
       COALESCE(a.name, '')                          AS agent,
       c.job_id                                      AS job,
       to_char(k.at, 'YYYY-MM-DD HH24:MI:SS')        AS at,
       c.benchmark,
       (c.median_s * 1000)        AS median_ms,
       c.noise                    AS noise,
       c.runs
FROM calibrations k
JOIN machine_calibrations c ON c.job_id = k.job_id
JOIN machines m             ON m.id = c.machine_id
LEFT JOIN agents a          ON a.id = c.agent_id
ORDER BY k.at DESC, c.job_id DESC,
         array_position(ARRAY['cpu', 'memory', 'spawn', 'io'], c.benchmark), c.benchmark;
