-- The custom metrics of one pipeline (lines a step writes to
-- $YARDSTICK_METRICS, and the collectors' values: ccache.hit_rate,
-- ninja.target.*, cargo.crate.*): per job, machine, step or bench variant
-- and metric, its value (the mean over a bench's runs) with the smallest
-- and largest and how many values were reported. Only each job's final
-- attempt. metric, when set, keeps the names that start with it.
--
--   psql "$DSN" -v pipeline=42 -f sql/reports/metrics.sql
--   psql "$DSN" -v pipeline=42 -v metric=ccache. -f sql/reports/metrics.sql
--   yardstick metrics 42 [--metric ccache.]
\if :{?metric}
\else
  \set metric ''
\endif

SELECT j.name                                                      AS job,
       COALESCE(mc.name, '')                                       AS machine,
       CASE WHEN x.step_idx IS NOT NULL THEN COALESCE(s.name, 'step ' || x.step_idx)
            ELSE 'variant ' || x.variant END                       AS "from",
       x.name                                                      AS metric,
       x.unit,
       count(*)                                                    AS n,
       avg(x.value)                                                AS value,
       min(x.value)                                                AS min,
       max(x.value)                                                AS max
FROM jobs j
JOIN metrics x       ON x.job_id = j.id AND x.attempt = j.attempt
LEFT JOIN machines mc ON mc.id = j.machine_id
LEFT JOIN steps s    ON s.job_id = j.id AND s.attempt = j.attempt AND s.idx = x.step_idx
WHERE j.pipeline_id = :pipeline
  AND left(x.name, length(:'metric')) = :'metric'
GROUP BY j.id, j.name, mc.name, x.step_idx, s.name, x.variant, x.name, x.unit
ORDER BY j.id, x.step_idx NULLS LAST, x.variant, x.name;
