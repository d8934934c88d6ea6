-- Machines side by side for one job: each benchmark's median per machine
-- as a ratio to a reference machine, and each machine's speed index, the
-- geometric mean of its ratios over every benchmark that both machines ran
-- (below 1: faster than the reference).
--
-- A benchmark is a variant of a bench job or a timed step of a build job;
-- its value per machine is the median over the last N pipelines.
--
--   psql "$DSN" -v job=cold-build -f sql/reports/compare_machines.sql
--   psql "$DSN" -v job=cold-build -v reference=ci-runner -v last=20 -f ...
--   yardstick compare --machines --job cold-build [--reference ci-runner] [--last 20]
\if :{?reference}
\else
  \set reference ''
\endif
\if :{?last}
\else
  \set last 10
\endif

WITH recent AS (
  SELECT DISTINCT p.id, p.submitted_at
  FROM pipelines p JOIN jobs j ON j.pipeline_id = p.id
  WHERE j.name = :'job'
  ORDER BY p.submitted_at DESC, p.id DESC
  LIMIT (:last)::int
),
values_ AS (
  SELECT m.name AS machine, 'variant ' || r.variant AS benchmark, r.median_s AS value
  FROM bench_results r
  JOIN jobs j ON j.id = r.job_id AND j.attempt = r.attempt
  JOIN recent p ON p.id = j.pipeline_id
  JOIN machines m ON m.id = j.machine_id
  WHERE j.name = :'job' AND j.state = 'succeeded' AND r.measure = 'wall'
  UNION ALL
  SELECT m.name, 'step ' || s.name, s.wall_s
  FROM steps s
  JOIN jobs j ON j.id = s.job_id AND j.attempt = s.attempt
  JOIN recent p ON p.id = j.pipeline_id
  JOIN machines m ON m.id = s.machine_id
  WHERE j.name = :'job' AND s.timed AND s.exit_code = 0 AND s.name <> 'checkout'
),
medians AS (
  SELECT machine, benchmark, count(*) AS runs,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median_s
  FROM values_ GROUP BY machine, benchmark
),
reference AS (
  SELECT COALESCE(NULLIF(:'reference', ''), (SELECT min(machine) FROM medians)) AS machine
),
ratios AS (
  SELECT m.machine, m.benchmark, m.runs, m.median_s, m.median_s / NULLIF(r.median_s, 0) AS ratio
  FROM medians m
  JOIN medians r ON r.benchmark = m.benchmark AND r.machine = (SELECT machine FROM reference)
)
SELECT machine,
       (SELECT machine FROM reference)                                       AS reference,
       benchmark,
       runs,
       round(median_s::numeric, 4)                                           AS median_s,
       round(ratio::numeric, 4)                                              AS ratio,
       round(exp(avg(ln(ratio)) OVER (PARTITION BY machine))::numeric, 4)   AS speed_index
FROM ratios
WHERE ratio > 0
ORDER BY speed_index, machine, benchmark;
