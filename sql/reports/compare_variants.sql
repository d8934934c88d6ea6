-- Each benchmark variant against its job's baseline (the first variant),
-- per job and machine, for one pipeline: the summary of its runs (n,
-- median, mean, stddev, MAD, min, Q1, Q3, max), the ratio of medians with
-- its 95 % interval, the Mann-Whitney p-value, the verdict and warnings.
--
--   psql "$DSN" -v pipeline=42 -f sql/reports/compare_variants.sql
--   yardstick compare 42
SELECT j.name                              AS job,
       m.name                              AS machine,
       r.variant,
       r.n,
       round(r.median_s::numeric, 4)       AS median_s,
       round(r.mean_s::numeric, 4)         AS mean_s,
       round(r.stddev_s::numeric, 4)       AS stddev_s,
       round(r.mad_s::numeric, 4)          AS mad_s,
       round(r.min_s::numeric, 4)          AS min_s,
       round(r.q1_s::numeric, 4)           AS q1_s,
       round(r.q3_s::numeric, 4)           AS q3_s,
       round(r.max_s::numeric, 4)          AS max_s,
       round(r.ratio::numeric, 4)          AS ratio,
       round(r.ci_low::numeric, 4)         AS ci_low,
       round(r.ci_high::numeric, 4)        AS ci_high,
       r.p_value::numeric(12, 6)           AS p_value,
       COALESCE(r.verdict, 'baseline')     AS verdict,
       array_to_string(r.warnings, '; ')   AS warnings
FROM bench_results r
JOIN jobs j     ON j.id = r.job_id AND j.attempt = r.attempt
JOIN machines m ON m.id = j.machine_id
WHERE j.pipeline_id = :pipeline
ORDER BY j.name, m.name, r.variant_idx;
