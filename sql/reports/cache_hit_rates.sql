-- Compiler cache hit rates over time: the metrics ccache.hit_rate and
-- sccache.hit_rate (collect: [ccache] or [sccache] on a step) of each job
-- and machine, one row per step that reported one, oldest first, for the
-- last N pipelines of a name; hit_pct is the rate in %.
--
-- Variables: pipeline_name (required), last (default 20: pipelines),
-- job (optional: only that job).
--
--   psql "$DSN" -v pipeline_name=ci -f sql/reports/cache_hit_rates.sql
--   yardstick report cache_hit_rates -v pipeline_name=ci [-v job=build] [-v last=50]
\if :{?last}
\else
  \set last 20
\endif
\if :{?job}
\else
  \set job ''
\endif

WITH recent AS (
  SELECT id, revision, submitted_at
  FROM pipelines
  WHERE name = :'pipeline_name'
  ORDER BY submitted_at DESC, id DESC
  LIMIT (:last)::int
)
SELECT to_char(r.submitted_at, 'YYYY-MM-DD HH24:MI:SS') AS submitted_at,
       r.id                                             AS pipeline,
       left(r.revision, 12)                             AS revision,
       j.name                                           AS job,
       m.name                                           AS machine,
       COALESCE(s.name, '')                             AS step,
       split_part(x.name, '.', 1)                       AS cache,
       (100 * x.value)               AS hit_pct
FROM recent r
JOIN jobs j       ON j.pipeline_id = r.id
JOIN metrics x    ON x.job_id = j.id AND x.attempt = j.attempt
JOIN machines m   ON m.id = j.machine_id
LEFT JOIN steps s ON s.job_id = j.id AND s.attempt = j.attempt AND s.idx = x.step_idx
WHERE x.name IN ('ccache.hit_rate', 'sccache.hit_rate')
  AND (:'job' = '' OR j.name = :'job')
ORDER BY r.submitted_at, r.id, j.name, m.name, x.step_idx, x.seq;
