-- Each benchmark variant against its job's baseline (the first variant),
-- per job and machine, for one pipeline: the summary of its runs (n,
-- median, mean, stddev, MAD, min, Q1, Q3, max), the ratio of medians with
-- its 95 % interval, the p-value, the verdict, what it could have seen (the
-- minimum detectable effect at the job's alpha and power 0.8, in %, and the
-- runs that would see 2 %), how it was judged (method), how many samples
-- were taken under contention, what stopped the runs, and warnings (a
-- JSON list). Numbers at full precision: the CLI rounds them for people.
--
-- measure: wall, cpu or instructions (default: each job's own); the
-- summary columns are in its unit (seconds, or instructions).
--
--   psql "$DSN" -v pipeline=42 -f sql/reports/compare_variants.sql
--   psql "$DSN" -v pipeline=42 -v measure=cpu -f sql/reports/compare_variants.sql
--   yardstick compare 42 [--measure cpu]
\if :{?measure}
\else
  \set measure ''
\endif

WITH chosen AS (
  -- Each job's rows in the measure asked for; without one, its own measure
  -- when it was judged in it (instructions need counters), else wall.
  SELECT j.id, j.attempt,
         COALESCE(NULLIF(:'measure', ''),
                  (SELECT r2.measure FROM bench_results r2
                   WHERE r2.job_id = j.id AND r2.attempt = j.attempt
                     AND r2.measure = COALESCE(NULLIF(j.spec -> 'bench' ->> 'measure', ''), 'wall')
                   LIMIT 1),
                  'wall') AS measure
  FROM jobs j
  WHERE j.pipeline_id = :pipeline
),
rows_ AS (
  SELECT r.*,
         CASE WHEN r.runs_for_2pct > r.n THEN '; about ' || r.runs_for_2pct || ' runs would see 2 %'
              WHEN r.runs_for_2pct IS NULL AND r.verdict = 'no change'
                THEN '; no run count would see 2 % (noise floor)'
              ELSE '' END AS would,
         r.n || CASE WHEN r.n = 1 THEN ' run' ELSE ' runs' END AS runs_text,
         to_char(round((100 * r.mde)::numeric, 1), 'FM9999990.0') AS mde_text
  FROM bench_results r
  JOIN chosen c ON c.id = r.job_id AND c.attempt = r.attempt AND c.measure = r.measure
)
SELECT j.name                              AS job,
       m.name                              AS machine,
       r.variant,
       r.n,
       r.median_s                          AS median_s,
       r.mean_s                            AS mean_s,
       r.stddev_s                          AS stddev_s,
       r.mad_s                             AS mad_s,
       r.min_s                             AS min_s,
       r.q1_s                              AS q1_s,
       r.q3_s                              AS q3_s,
       r.max_s                             AS max_s,
       r.ratio                             AS ratio,
       r.ci_low                            AS ci_low,
       r.ci_high                           AS ci_high,
       r.p_value                           AS p_value,
       COALESCE(r.verdict, 'baseline')     AS verdict,
       100 * r.mde                         AS mde_pct,
       r.runs_for_2pct,
       -- The words of common/stats.cpp verdict_phrase.
       CASE WHEN r.verdict IS NULL THEN 'baseline'
            WHEN r.mde IS NULL
              THEN r.verdict || ' (could not have seen any change with ' || r.runs_text || r.would || ')'
            WHEN r.verdict = 'no change'
              THEN 'no change (could not have seen less than ' || r.mde_text || ' % with '
                   || r.runs_text || r.would || ')'
            ELSE r.verdict || ' (could see ' || r.mde_text || ' % or more with ' || r.runs_text || ')'
       END                                 AS detail,
       r.contended,
       r.method,
       r.measure,
       r.stop_reason,
       to_jsonb(COALESCE(r.warnings, '{}')) AS warnings
FROM rows_ r
JOIN jobs j     ON j.id = r.job_id AND j.attempt = r.attempt
JOIN machines m ON m.id = j.machine_id
ORDER BY j.name, m.name, r.variant_idx;
