-- Machines side by side for one job: each benchmark's median per machine
-- as a ratio to a reference machine, and each machine's speed index, the
-- geometric mean of its ratios over every benchmark that both machines ran
-- (below 1: faster than the reference).
--
-- A benchmark is a variant of a bench job or a timed step of a build job
-- (a bench job's setup steps are not benchmarks); its value per machine is
-- the median over the last N pipelines of the job's name, of one pipeline
-- name when pipeline_name is set (jobs of unrelated pipelines often share
-- a name such as "build"). runs counts the runs behind each value (a
-- variant's counted runs, a step's executions), pipelines the pipelines.
--
-- The speed index carries a 95 % interval (speed_low, speed_high): the
-- Student t-interval of the mean of the log ratios machine / reference,
-- one per pipeline and benchmark that both machines ran (one per
-- benchmark, of the medians, when they never ran the same pipeline),
-- exponentiated; `units` counts them. noise and reference_noise are the
-- machines' calibrated noise levels (the median of the noise of their
-- latest calibration's micro-benchmarks, see machine_calibrations.sql);
-- calibration_ratio is the geometric mean of the calibration medians'
-- ratios machine / reference (the machine's own speed, measured alone).
-- verdict names no winner ("no clear difference") when there is no
-- interval (one unit), when the interval holds 1, or when the speed index
-- differs from 1 by no more than the two machines' noise combined
-- (|ln index| <= sqrt(noise^2 + reference_noise^2)). A faster or slower
-- verdict says whether the calibration agrees (the machine's speed) or
-- not (the machines are alike: the difference came with the runs).
--
--   psql "$DSN" -v job=cold-build -f sql/reports/compare_machines.sql
--   psql "$DSN" -v job=cold-build -v reference=ci-runner -v last=20 -f ...
--   psql "$DSN" -v job=cold-build -v pipeline_name=build-speed -f sql/reports/compare_machines.sql
--   yardstick compare --machines --job cold-build [--pipeline build-speed] [--reference ci-runner] [--last 20]
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif
\if :{?reference}
\else
  \set reference ''
\endif
\if :{?last}
\else
  \set last 10
\endif

-- The recent pipelines are read newest first (pipelines_submitted) until
-- enough ran the job: the cost follows N, not the job's history.
WITH recent AS (
  SELECT p.id, p.submitted_at
  FROM pipelines p
  WHERE (:'pipeline_name' = '' OR p.name = :'pipeline_name')
    AND EXISTS (SELECT 1 FROM jobs j WHERE j.pipeline_id = p.id AND j.name = :'job'
                                       AND j.kind <> 'calibrate')
  ORDER BY p.submitted_at DESC, p.id DESC
  LIMIT (:last)::int
),
values_ AS (
  SELECT m.name AS machine, j.pipeline_id, 'variant ' || r.variant AS benchmark,
         r.median_s AS value, r.n AS runs
  FROM bench_results r
  JOIN jobs j ON j.id = r.job_id AND j.attempt = r.attempt
  JOIN recent p ON p.id = j.pipeline_id
  JOIN machines m ON m.id = j.machine_id
  WHERE j.name = :'job' AND j.state = 'succeeded' AND r.measure = 'wall'
  UNION ALL
  SELECT m.name, j.pipeline_id, 'step ' || s.name, s.wall_s, 1
  FROM steps s
  JOIN jobs j ON j.id = s.job_id AND j.attempt = s.attempt
  JOIN recent p ON p.id = j.pipeline_id
  JOIN machines m ON m.id = s.machine_id
  WHERE j.name = :'job' AND s.timed AND s.exit_code = 0 AND s.name <> 'checkout'
    AND j.kind NOT IN ('calibrate', 'bench')
),
medians AS (
  SELECT machine, benchmark, sum(runs) AS runs, count(DISTINCT pipeline_id) AS pipelines,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median_s
  FROM values_ GROUP BY machine, benchmark
),
reference AS (
  SELECT COALESCE(NULLIF(:'reference', ''), (SELECT min(machine) FROM medians)) AS machine
),
ratios AS (
  SELECT m.machine, m.benchmark, m.runs, m.pipelines, m.median_s, m.median_s / NULLIF(r.median_s, 0) AS ratio
  FROM medians m
  JOIN medians r ON r.benchmark = m.benchmark AND r.machine = (SELECT machine FROM reference)
),
-- One log value per machine, pipeline and benchmark (the mean of the logs
-- when a pipeline ran it more than once there).
per_pipeline AS (
  SELECT machine, pipeline_id, benchmark, avg(ln(value)) AS log_value
  FROM values_ WHERE value > 0 GROUP BY machine, pipeline_id, benchmark
),
paired AS (
  SELECT a.machine, a.log_value - r.log_value AS log_ratio
  FROM per_pipeline a
  JOIN per_pipeline r ON r.pipeline_id = a.pipeline_id AND r.benchmark = a.benchmark
   AND r.machine = (SELECT machine FROM reference)
),
units AS (
  SELECT machine, log_ratio FROM paired
  UNION ALL
  SELECT machine, ln(ratio) FROM ratios
  WHERE ratio > 0 AND machine NOT IN (SELECT machine FROM paired)
),
intervals AS (
  SELECT machine, count(*) AS units, avg(log_ratio) AS mean_log,
         stddev_samp(log_ratio) / sqrt(count(*)) AS se
  FROM units GROUP BY machine
),
-- Calibrations: the latest of each machine name.
cal AS (
  SELECT m.name AS machine, c.job_id, c.at, c.benchmark, c.median_s, c.noise
  FROM machine_calibrations c JOIN machines m ON m.id = c.machine_id
),
cal_latest AS (
  SELECT x.machine, x.benchmark, x.median_s, x.noise FROM cal x
  WHERE x.job_id = (SELECT y.job_id FROM cal y WHERE y.machine = x.machine
                    ORDER BY y.at DESC, y.job_id DESC LIMIT 1)
),
cal_noise AS (
  SELECT machine, percentile_cont(0.5) WITHIN GROUP (ORDER BY noise) AS noise
  FROM cal_latest GROUP BY machine
),
cal_ratio AS (
  SELECT a.machine, exp(avg(ln(a.median_s / r.median_s))) AS ratio
  FROM cal_latest a
  JOIN cal_latest r ON r.benchmark = a.benchmark AND r.machine = (SELECT machine FROM reference)
  WHERE a.median_s > 0 AND r.median_s > 0
  GROUP BY a.machine
),
per_machine AS (
  SELECT i.machine, i.units,
         exp(i.mean_log - t.q * i.se) AS low,
         exp(i.mean_log + t.q * i.se) AS high,
         n.noise, rn.noise AS reference_noise, cr.ratio AS calibration_ratio
  FROM intervals i
  -- Student t quantile 0.975 for units - 1 degrees of freedom (common/calibration.cpp).
  CROSS JOIN LATERAL (SELECT CASE
      WHEN i.units < 2 THEN NULL
      WHEN i.units - 1 <= 30 THEN (ARRAY[12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
        2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
        2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042])[i.units - 1]
      ELSE 1.95996 + 2.372 / (i.units - 1) END AS q) t
  LEFT JOIN cal_noise n ON n.machine = i.machine
  LEFT JOIN cal_noise rn ON rn.machine = (SELECT machine FROM reference)
  LEFT JOIN cal_ratio cr ON cr.machine = i.machine
),
indexed AS (
  SELECT r.*, exp(avg(ln(r.ratio)) OVER (PARTITION BY r.machine)) AS speed_index
  FROM ratios r WHERE r.ratio > 0
)
SELECT x.machine,
       (SELECT machine FROM reference)                                       AS reference,
       x.benchmark,
       x.runs,
       x.pipelines,
       x.median_s                                                            AS median_s,
       x.ratio                                                               AS ratio,
       x.speed_index                                                         AS speed_index,
       pm.low                                                                AS speed_low,
       pm.high                                                               AS speed_high,
       pm.units,
       pm.noise                                                              AS noise,
       pm.reference_noise                                                    AS reference_noise,
       pm.calibration_ratio                                                  AS calibration_ratio,
       CASE
         WHEN x.machine = (SELECT machine FROM reference) THEN 'reference'
         WHEN pm.low IS NULL THEN 'no clear difference (one measurement: no interval)'
         WHEN pm.low <= 1 AND pm.high >= 1 THEN 'no clear difference (the interval holds 1)'
         WHEN pm.noise IS NOT NULL AND pm.reference_noise IS NOT NULL
              AND abs(ln(x.speed_index)) <= sqrt(pm.noise ^ 2 + pm.reference_noise ^ 2)
           THEN 'no clear difference (within the machines'' calibrated noise)'
         ELSE CASE WHEN x.speed_index < 1 THEN 'faster' ELSE 'slower' END ||
           CASE
             WHEN pm.calibration_ratio IS NULL OR pm.noise IS NULL OR pm.reference_noise IS NULL
               THEN ' (a machine is not calibrated: speed or noise cannot be told apart)'
             WHEN abs(ln(pm.calibration_ratio)) > sqrt(pm.noise ^ 2 + pm.reference_noise ^ 2)
                  AND (pm.calibration_ratio < 1) = (x.speed_index < 1)
               THEN ' (the machine''s speed: its calibration is ' ||
                    CASE WHEN pm.calibration_ratio < 1 THEN 'faster' ELSE 'slower' END || ' too)'
             ELSE ' (not the machine''s speed: the calibrations are alike; load or noise '
                  'during the runs?)'
           END
       END                                                                   AS verdict
FROM indexed x
LEFT JOIN per_machine pm ON pm.machine = x.machine
ORDER BY x.speed_index, x.machine, x.benchmark;
