-- The slowest crates (collector cargo-timings) or build targets (collector
-- ninja-log) of a job's latest successful run on each machine, averaged over
-- the runs of that job (a bench with several runs, or one build step).
--
--   psql "$DSN" -v job=cold-build -f sql/reports/slowest_units.sql
--   psql "$DSN" -v job=cold-build -v top=20 -f sql/reports/slowest_units.sql
--   yardstick report slowest_units -v job=cold-build [-v top=20] [-v pipeline_name=build-speed]
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif
\if :{?top}
\else
  \set top 10
\endif

-- Each machine's latest run is found through the index jobs_name_machine
-- (job name, machine, id), newest first.
WITH latest AS (
  SELECT l.*
  FROM machines mc
  CROSS JOIN LATERAL (
    SELECT j.id, j.attempt, j.machine_id
    FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id
    WHERE j.name = :'job' AND j.machine_id = mc.id AND j.state = 'succeeded'
      AND (:'pipeline_name' = '' OR p.name = :'pipeline_name')
    ORDER BY j.id DESC
    LIMIT 1
  ) l
),
units AS (
  SELECT l.machine_id, l.id AS job_id, m.name, avg(m.value) AS seconds, count(*) AS runs
  FROM latest l
  JOIN metrics m ON m.job_id = l.id AND m.attempt = l.attempt
  WHERE m.name LIKE 'cargo.crate.%' OR m.name LIKE 'ninja.target.%'
  GROUP BY l.machine_id, l.id, m.name
),
ranked AS (
  SELECT u.*, row_number() OVER (PARTITION BY u.machine_id ORDER BY u.seconds DESC, u.name) AS rank
  FROM units u
)
SELECT mc.name AS machine,
       r.job_id AS job,
       r.rank,
       regexp_replace(r.name, '^(cargo\.crate|ninja\.target)\.', '') AS unit,
       r.seconds AS seconds,
       r.runs
FROM ranked r
JOIN machines mc ON mc.id = r.machine_id
WHERE r.rank <= (:top)::int
ORDER BY mc.name, r.rank;
