-- Change points: where a series of timings moved and stayed moved, newest
-- first. A series is a step's wall time, a benchmark variant's median or a
-- metric, of one job of a pipeline name on one machine; the coordinator
-- searches it each time a pipeline adding to it ends (docs/change-points.md).
-- Per change: the last pipeline before it and the first after (revisions
-- and ids), the medians either side, the change with its interval, the
-- p-value, the smallest change the series could show there, and on how
-- many of the machines that ran the series since it moved the same way at
-- the same revision ("only on ci-3: machine or environment?" when one of
-- several; "the machine?" or "environment?" instead when the machine was
-- calibrated before and after the change and its calibration moved or
-- held; "the commit" when every machine moved), and what the newest bisection of those two revisions on that
-- machine found (`yardstick bisect`), or where it is while it runs
-- (bisection 'running', the message its last step's). pipeline_name and since (a date)
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
       CASE WHEN x.machines_moved = 1 AND x.machines_ran > 1 THEN
              'only on ' || m.name ||
              CASE WHEN cal.moved
                     THEN ', whose calibration moved too (' || cal.benchmark || ' ' || cal.pct || ' %): the machine?'
                   WHEN cal.moved IS NOT NULL
                     THEN ', whose calibration held (at most ' || cal.benchmark || ' ' || cal.pct || ' %): environment?'
                   ELSE ': machine or environment?' END
            WHEN cal.moved
              THEN m.name || '''s calibration moved too (' || cal.benchmark || ' ' || cal.pct || ' %): the machine?'
            WHEN x.machines_ran > 1 AND x.machines_moved >= x.machines_ran
              THEN 'on every machine that ran it: the commit'
            ELSE '' END                              AS note,
       to_char(s.found_at, 'YYYY-MM-DD HH24:MI')     AS found,
       COALESCE(split_part(b.message, E'\n', 1) ||
                CASE WHEN b.outcome = 'running'
                       THEN ' (last heard ' || round(extract(epoch FROM now() - b.updated_at)) || ' s ago)'
                     ELSE '' END, '')               AS bisected,
       COALESCE(b.outcome, '')                       AS bisection,
       COALESCE(b.commit, '')                        AS culprit
FROM shown s
JOIN spread x ON x.id = s.id
JOIN machines m ON m.id = s.machine_id
LEFT JOIN pipelines fb ON fb.id = s.first_bad_pipeline_id
-- The machine's calibrations either side of the change: the newest before
-- the first slow pipeline was submitted and the first since. The benchmark
-- that moved the most; moved when by more than 3 times the larger of the
-- two calibrations' noise, and more than 5 %.
LEFT JOIN LATERAL (
  SELECT k.benchmark,
         (CASE WHEN k.ratio >= 1 THEN '+' ELSE '' END) || round((100 * (k.ratio - 1))::numeric, 1) AS pct,
         abs(ln(k.ratio)) > greatest(3 * k.noise, ln(1.05)) AS moved
  FROM (
    SELECT a.benchmark, a.median_s / b.median_s AS ratio, greatest(a.noise, b.noise) AS noise
    FROM machine_calibrations b
    JOIN machine_calibrations a ON a.benchmark = b.benchmark
    WHERE b.median_s > 0 AND a.median_s > 0
      AND (b.job_id, b.attempt) = (SELECT c.job_id, c.attempt FROM machine_calibrations c
                       WHERE c.machine_id = s.machine_id AND c.at < fb.submitted_at
                       ORDER BY c.at DESC, c.job_id DESC, c.attempt DESC LIMIT 1)
      AND (a.job_id, a.attempt) = (SELECT c.job_id, c.attempt FROM machine_calibrations c
                       WHERE c.machine_id = s.machine_id AND c.at >= fb.submitted_at
                       ORDER BY c.at, c.job_id, c.attempt DESC LIMIT 1)
  ) k
  ORDER BY abs(ln(k.ratio)) > greatest(3 * k.noise, ln(1.05)) DESC, abs(ln(k.ratio)) DESC
  LIMIT 1
) cal ON true
LEFT JOIN LATERAL (
  SELECT g.message, g.commit, g.outcome, g.updated_at FROM bisections g
  WHERE g.pipeline_name = s.pipeline_name AND g.job = s.job AND g.kind = s.kind
    AND g.what = s.what AND g.machine = m.name
    AND g.good_revision = s.last_good_revision AND g.bad_revision = s.first_bad_revision
  ORDER BY g.id DESC LIMIT 1
) b ON true
ORDER BY s.first_bad_pipeline_id DESC, s.pipeline_name, s.job, s.kind, s.what, m.name;
