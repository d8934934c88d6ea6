-- The before/after summary of one pipeline, per machine, ready to paste
-- into a pull request (yardstick summary PIPELINE --markdown). One row per:
--   bench     each variant of each bench job: its median (s, or
--             instructions), the change against the baseline in %, the 95 %
--             interval of that change in %, the verdict and the smallest
--             change it could have seen (mde_pct); with the job's wall
--             budget, judged on that variant's median;
--   step      each timed step of each build job that ended: its wall time
--             (s), with the step's wall budget when it has one;
--   budget    each other budget: a job's wall, and each metric bound of a
--             job or a step (value: the metric's last value);
--   pipeline  the pipeline's own wall budget: submission to its last job's
--             end (s).
-- ok is ✓ for a budget that held, ✗ for one that was breached (as stored in
-- budget_breaches and pipeline_budget_breaches), … while it is not judged
-- yet, and empty without a budget.
--
-- Variables: pipeline (required: its id). Values at full precision: the
-- CLI rounds them for people.
--
--   psql "$DSN" -v pipeline=42 -f sql/reports/summary.sql
--   yardstick summary 42 [--markdown|--json]
WITH pj AS (
  SELECT j.*,
         j.state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped') AS ended,
         CASE WHEN COALESCE(j.spec ->> 'checkoutRepo', '') <> '' THEN 1 ELSE 0 END AS step_offset
  FROM jobs j
  WHERE j.pipeline_id = :pipeline
),
chosen AS (
  -- Each bench job's verdicts in its own measure when it was judged in
  -- it (instructions need counters), else wall: as compare_variants.
  SELECT j.id, j.attempt,
         COALESCE((SELECT r2.measure FROM bench_results r2
                   WHERE r2.job_id = j.id AND r2.attempt = j.attempt
                     AND r2.measure = COALESCE(NULLIF(j.spec -> 'bench' ->> 'measure', ''), 'wall')
                   LIMIT 1),
                  'wall') AS measure
  FROM pj j
),
bench AS (
  SELECT 1 AS section_order, 'bench' AS section, j.machine_id, j.name AS job, r.variant_idx AS idx,
         r.variant AS item, r.median_s AS value, 100 * (r.ratio - 1) AS change_pct,
         100 * (r.ci_low - 1) AS ci_low_pct, 100 * (r.ci_high - 1) AS ci_high_pct,
         COALESCE(r.verdict, 'baseline') AS verdict, 100 * r.mde AS mde_pct,
         CASE WHEN COALESCE((j.spec -> 'budget' ->> 'wallMs')::numeric, 0) > 0 AND r.measure = 'wall'
              THEN 'median wall <= ' || trim_scale((j.spec -> 'budget' ->> 'wallMs')::numeric / 1000) || 's'
              ELSE '' END AS budget,
         CASE WHEN COALESCE((j.spec -> 'budget' ->> 'wallMs')::numeric, 0) = 0 OR r.measure <> 'wall' THEN ''
              WHEN EXISTS (SELECT 1 FROM budget_breaches b
                           WHERE b.job_id = j.id AND b.attempt = j.attempt AND b.step_idx IS NULL
                             AND b.subject = 'wall'
                             AND b.budget LIKE 'median wall of variant ' || r.variant || ' <=%')
                THEN '✗'
              WHEN j.ended THEN '✓' ELSE '…' END AS ok
  FROM pj j
  JOIN chosen c         ON c.id = j.id
  JOIN bench_results r  ON r.job_id = j.id AND r.attempt = j.attempt AND r.measure = c.measure
),
step_budgets AS (
  -- Each timed step that ended, with its budget from the job's spec.
  SELECT j.id AS job_id, j.attempt, j.machine_id, j.name AS job, j.ended, s.idx, s.name,
         s.wall_s, j.spec -> 'steps' -> (s.idx - j.step_offset) -> 'budget' AS budget
  FROM pj j
  JOIN steps s ON s.job_id = j.id AND s.attempt = j.attempt
  WHERE j.kind <> 'bench' AND s.timed AND s.ended_at IS NOT NULL
),
step_rows AS (
  SELECT 2, 'step', s.machine_id, s.job, s.idx, s.name, s.wall_s,
         NULL::float8, NULL::float8, NULL::float8, '', NULL::float8,
         CASE WHEN COALESCE((s.budget ->> 'wallMs')::numeric, 0) > 0
              THEN 'wall <= ' || trim_scale((s.budget ->> 'wallMs')::numeric / 1000) || 's'
              ELSE '' END,
         CASE WHEN COALESCE((s.budget ->> 'wallMs')::numeric, 0) = 0 THEN ''
              WHEN EXISTS (SELECT 1 FROM budget_breaches b
                           WHERE b.job_id = s.job_id AND b.attempt = s.attempt
                             AND b.step_idx = s.idx AND b.subject = 'wall')
                THEN '✗'
              WHEN s.ended THEN '✓' ELSE '…' END
  FROM step_budgets s
),
bounds AS (
  -- Each metric bound of a job (step_idx NULL) or of a step, with the last
  -- value reported under its name there (as the coordinator judges it).
  SELECT j.id AS job_id, j.attempt, j.machine_id, j.name AS job, j.ended, NULL::int AS step_idx,
         m ->> 'metric' AS metric, (m ->> 'op') || ' ' || (m ->> 'value') AS bound
  FROM pj j, jsonb_array_elements(COALESCE(j.spec -> 'budget' -> 'metrics', '[]')) m
  UNION ALL
  SELECT s.job_id, s.attempt, s.machine_id, s.job, s.ended, s.idx,
         m ->> 'metric', (m ->> 'op') || ' ' || (m ->> 'value')
  FROM step_budgets s, jsonb_array_elements(COALESCE(s.budget -> 'metrics', '[]')) m
),
budget_rows AS (
  SELECT 3, 'budget', j.machine_id, j.name, -1, 'wall',
         extract(epoch FROM j.ended_at - j.started_at)::float8,
         NULL::float8, NULL::float8, NULL::float8, '', NULL::float8,
         'wall <= ' || trim_scale((j.spec -> 'budget' ->> 'wallMs')::numeric / 1000) || 's',
         CASE WHEN EXISTS (SELECT 1 FROM budget_breaches b
                           WHERE b.job_id = j.id AND b.attempt = j.attempt
                             AND b.step_idx IS NULL AND b.subject = 'wall')
                THEN '✗'
              WHEN j.ended THEN '✓' ELSE '…' END
  FROM pj j
  WHERE j.kind <> 'bench' AND COALESCE((j.spec -> 'budget' ->> 'wallMs')::numeric, 0) > 0
  UNION ALL
  SELECT 3, 'budget', b.machine_id, b.job, COALESCE(b.step_idx, -1), b.metric,
         (SELECT m.value FROM metrics m
          WHERE m.job_id = b.job_id AND m.attempt = b.attempt AND m.name = b.metric
            AND m.step_idx IS NOT DISTINCT FROM b.step_idx
          ORDER BY m.seq DESC LIMIT 1),
         NULL::float8, NULL::float8, NULL::float8, '', NULL::float8,
         b.metric || ' ' || b.bound
           || CASE WHEN b.step_idx IS NULL THEN ''
                   ELSE ' (step ' || (SELECT s.name FROM steps s WHERE s.job_id = b.job_id
                                      AND s.attempt = b.attempt AND s.idx = b.step_idx) || ')' END,
         CASE WHEN EXISTS (SELECT 1 FROM budget_breaches x
                           WHERE x.job_id = b.job_id AND x.attempt = b.attempt
                             AND x.step_idx IS NOT DISTINCT FROM b.step_idx
                             AND x.subject = b.metric)
                THEN '✗'
              WHEN b.ended THEN '✓' ELSE '…' END
  FROM bounds b
),
pipeline_row AS (
  SELECT 4, 'pipeline', NULL::bigint, p.name, 0, 'wall',
         CASE WHEN bool_and(j.ended) THEN extract(epoch FROM max(j.ended_at) - p.submitted_at)::float8 END,
         NULL::float8, NULL::float8, NULL::float8, '', NULL::float8,
         'wall <= ' || trim_scale(p.budget_wall_ms::numeric / 1000) || 's',
         CASE WHEN EXISTS (SELECT 1 FROM pipeline_budget_breaches x WHERE x.pipeline_id = p.id)
                THEN '✗'
              WHEN bool_and(j.ended) THEN '✓' ELSE '…' END
  FROM pipelines p
  JOIN pj j ON j.pipeline_id = p.id
  WHERE p.id = :pipeline AND p.budget_wall_ms IS NOT NULL
  GROUP BY p.id
),
all_rows (section_order, section, machine_id, job, idx, item, value, change_pct, ci_low_pct,
          ci_high_pct, verdict, mde_pct, budget, ok) AS (
  SELECT * FROM bench
  UNION ALL SELECT * FROM step_rows
  UNION ALL SELECT * FROM budget_rows
  UNION ALL SELECT * FROM pipeline_row
)
SELECT r.section,
       COALESCE(m.name, '')                AS machine,
       r.job,
       r.item,
       r.value      AS value,
       r.change_pct
                                           AS change_pct,
       r.ci_low_pct
                                           AS ci_low_pct,
       r.ci_high_pct
                                           AS ci_high_pct,
       r.verdict,
       r.mde_pct  AS mde_pct,
       r.budget,
       r.ok
FROM all_rows r
LEFT JOIN machines m ON m.id = r.machine_id
ORDER BY r.section_order = 4, COALESCE(m.name, ''), r.job, r.section_order, r.idx, r.item;
