-- Change points: where a series of timings moved and stayed moved, newest
-- first. A series is a step's wall time, a benchmark variant's median or a
-- metric, of one job of a pipeline name on one machine; the coordinator
-- searches it each time a pipeline adding to it ends (docs/change-points.md).
-- Per change: the last pipeline before it and the first after (revisions
-- and ids), the medians either side, the change with its interval, the
-- p-value, the smallest change the series could show there, and on how
-- many of the machines that ran the series since it moved the same way at
-- the same revision ("only on ci-3: machine or environment?" when one of
-- several), and what the newest bisection of those two revisions on that
-- machine found (`yardstick bisect`). pipeline_name and since (a date)
-- narrow it.
--
--   psql "$DSN" -f sql/reports/change_points.sql
--   psql "$DSN" -v pipeline_name=release-build -v since=2026-01-01 -f sql/reports/change_points.sql
--   yardstick regressions [--pipeline release-build] [--since 2026-01-01]
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif
\if :{?since}
\else
  \set since '1970-01-01'
\endif
\if :{?last}
\else
  \set last 50
\endif

WITH shown AS (
  SELECT c.*
  FROM change_points c
  WHERE (:'pipeline_name' = '' OR c.pipeline_name = :'pipeline_name')
    AND c.found_at >= (:'since')::date
  ORDER BY c.first_bad_pipeline_id DESC, c.id DESC
  LIMIT (:last)::int
),
spread AS (
  SELECT s.id,
         (SELECT count(DISTINCT o.machine_id) FROM change_points o
           WHERE o.pipeline_name = s.pipeline_name AND o.job = s.job AND o.kind = s.kind
             AND o.what = s.what AND o.direction = s.direction
             AND (o.first_bad_pipeline_id = s.first_bad_pipeline_id
                  OR (o.first_bad_revision <> '' AND o.first_bad_revision = s.first_bad_revision)))
           AS machines_moved,
         (SELECT count(DISTINCT j.machine_id) FROM pipelines p JOIN jobs j ON j.pipeline_id = p.id
           WHERE p.name = s.pipeline_name AND j.name = s.job AND p.id >= s.first_bad_pipeline_id
             AND j.state = 'succeeded')
           AS machines_ran
  FROM shown s
)
SELECT s.pipeline_name                               AS pipeline,
       s.job,
       s.kind,
       s.what,
       m.name                                        AS machine,
       s.direction,
       left(s.last_good_revision, 12)                AS last_good,
       left(s.first_bad_revision, 12)                AS first_bad,
       s.last_good_pipeline_id                       AS last_good_pipeline,
       s.first_bad_pipeline_id                       AS first_bad_pipeline,
       s.median_before,
       s.median_after,
       s.unit,
       round((100 * (s.ratio - 1))::numeric, 1)      AS change_pct,
       round((100 * (s.ratio_low - 1))::numeric, 1)  AS low_pct,
       round((100 * (s.ratio_high - 1))::numeric, 1) AS high_pct,
       s.p_value,
       round((100 * s.detectable)::numeric, 1)       AS detectable_pct,
       s.points_before,
       s.points_after,
       x.machines_moved || ' of ' || greatest(x.machines_ran, x.machines_moved) AS machines,
       CASE WHEN x.machines_moved = 1 AND x.machines_ran > 1
              THEN 'only on ' || m.name || ': machine or environment?'
            ELSE '' END                              AS note,
       to_char(s.found_at, 'YYYY-MM-DD HH24:MI')     AS found,
       COALESCE(split_part(b.message, E'\n', 1), '') AS bisected,
       COALESCE(b.commit, '')                        AS culprit
FROM shown s
JOIN spread x ON x.id = s.id
JOIN machines m ON m.id = s.machine_id
LEFT JOIN LATERAL (
  SELECT g.message, g.commit FROM bisections g
  WHERE g.pipeline_name = s.pipeline_name AND g.job = s.job AND g.kind = s.kind
    AND g.what = s.what AND g.machine = m.name
    AND g.good_revision = s.last_good_revision AND g.bad_revision = s.first_bad_revision
  ORDER BY g.id DESC LIMIT 1
) b ON true
ORDER BY s.first_bad_pipeline_id DESC, s.pipeline_name, s.job, s.kind, s.what, m.name;
