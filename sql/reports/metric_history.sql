-- A metric over the last N pipelines of a name, per revision and machine:
-- "how did the cache hit rate (or any value a step reports to
-- $YARDSTICK_METRICS) move, commit after commit, on each machine?". Per
-- pipeline, machine, job and metric: the mean of the values its final
-- attempts reported, and how many. job and metric (a name prefix), when
-- set, narrow it.
--
--   psql "$DSN" -v pipeline_name=build-speed -f sql/reports/metric_history.sql
--   psql "$DSN" -v pipeline_name=build-speed -v job=ccache -v metric=ccache.hit_rate -f ...
--   yardstick metrics --pipeline build-speed [--job ccache] [--metric ccache.hit_rate] [--last 20]
\if :{?job}
\else
  \set job ''
\endif
\if :{?metric}
\else
  \set metric ''
\endif
\if :{?last}
\else
  \set last 10
\endif

WITH recent AS (
  SELECT p.id, p.revision, p.submitted_at
  FROM pipelines p
  WHERE p.name = :'pipeline_name'
  ORDER BY p.submitted_at DESC, p.id DESC
  LIMIT (:last)::int
)
SELECT r.id                                     AS pipeline,
       left(r.revision, 12)                     AS revision,
       to_char(r.submitted_at, 'YYYY-MM-DD HH24:MI') AS submitted,
       COALESCE(mc.name, '')                    AS machine,
       j.name                                   AS job,
       x.name                                   AS metric,
       x.unit,
       count(*)                                 AS n,
       avg(x.value)                             AS value
FROM recent r
JOIN jobs j           ON j.pipeline_id = r.id
JOIN metrics x        ON x.job_id = j.id AND x.attempt = j.attempt
LEFT JOIN machines mc ON mc.id = j.machine_id
WHERE (:'job' = '' OR j.name = :'job')
  AND left(x.name, length(:'metric')) = :'metric'
GROUP BY r.id, r.revision, r.submitted_at, mc.name, j.name, x.name, x.unit
ORDER BY r.submitted_at DESC, r.id DESC, mc.name, j.name, x.name;
