-- The latest revision of a pipeline against the previous one: per bench
-- job, machine and variant, the newest pipeline at the latest revision
-- against the newest pipeline at the revision before it, with the medians
-- of their counted runs (wall, s), the change in %, and a verdict:
-- slower or faster when a two-sided Mann-Whitney U test (normal
-- approximation, |z| > 1.96: alpha 0.05) finds the runs differ and the
-- medians differ by at least the job's noise floor; else no change. Plain
-- SQL, so it is a coarser test than `yardstick compare --revisions` (exact
-- and paired tests, intervals): run that on the two revisions shown for
-- the full verdict.
--
-- Variables: pipeline_name (required).
--
--   psql "$DSN" -v pipeline_name=ci -f sql/reports/regressions.sql
--   yardstick report regressions -v pipeline_name=ci
WITH newest AS (
  SELECT id, revision
  FROM pipelines
  WHERE name = :'pipeline_name'
  ORDER BY submitted_at DESC, id DESC
  LIMIT 1
),
previous AS (
  SELECT p.id, p.revision
  FROM pipelines p, newest n
  WHERE p.name = :'pipeline_name' AND p.revision <> n.revision
    AND EXISTS (SELECT 1 FROM jobs j JOIN samples s ON s.job_id = j.id AND s.attempt = j.attempt
                WHERE j.pipeline_id = p.id)
  ORDER BY p.submitted_at DESC, p.id DESC
  LIMIT 1
),
runs AS (
  SELECT CASE WHEN j.pipeline_id = (SELECT id FROM newest) THEN 'new' ELSE 'old' END AS side,
         j.name AS job, j.machine_id, s.variant, s.wall_s,
         COALESCE((j.spec -> 'bench' ->> 'noiseFloor')::float8, 0) AS noise_floor
  FROM jobs j
  JOIN samples s ON s.job_id = j.id AND s.attempt = j.attempt
  WHERE j.pipeline_id IN (SELECT id FROM newest UNION ALL SELECT id FROM previous)
    AND j.kind = 'bench'
),
pairs AS (
  -- U of the new runs: pairs where the new run is slower, ties half.
  SELECT a.job, a.machine_id, a.variant,
         sum(CASE WHEN a.wall_s > b.wall_s THEN 1.0 WHEN a.wall_s = b.wall_s THEN 0.5 ELSE 0 END) AS u
  FROM runs a
  JOIN runs b ON b.side = 'old' AND b.job = a.job AND b.machine_id = a.machine_id
                 AND b.variant = a.variant
  WHERE a.side = 'new'
  GROUP BY a.job, a.machine_id, a.variant
),
sides AS (
  SELECT job, machine_id, variant,
         count(*) FILTER (WHERE side = 'old')                                   AS n_old,
         count(*) FILTER (WHERE side = 'new')                                   AS n_new,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_s) FILTER (WHERE side = 'old') AS median_old,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_s) FILTER (WHERE side = 'new') AS median_new,
         max(noise_floor)                                                       AS noise_floor
  FROM runs
  GROUP BY job, machine_id, variant
),
judged AS (
  SELECT s.*, p.u,
         (p.u - s.n_old * s.n_new / 2.0)
           / NULLIF(sqrt(s.n_old * s.n_new * (s.n_old + s.n_new + 1) / 12.0), 0) AS z,
         s.median_new / NULLIF(s.median_old, 0) - 1                            AS change
  FROM sides s
  JOIN pairs p USING (job, machine_id, variant)
  WHERE s.n_old > 0 AND s.n_new > 0
)
SELECT j.job,
       m.name                                  AS machine,
       j.variant,
       left((SELECT revision FROM previous), 12) AS old_revision,
       left((SELECT revision FROM newest), 12)   AS new_revision,
       j.n_old,
       j.n_new,
       j.median_old         AS median_old_s,
       j.median_new         AS median_new_s,
       (100 * j.change)     AS change_pct,
       j.z                  AS z,
       CASE WHEN abs(j.z) > 1.96 AND abs(j.change) >= j.noise_floor
              THEN CASE WHEN j.change > 0 THEN 'slower' ELSE 'faster' END
            ELSE 'no change' END               AS verdict
FROM judged j
JOIN machines m ON m.id = j.machine_id
ORDER BY j.job, m.name, j.variant;
