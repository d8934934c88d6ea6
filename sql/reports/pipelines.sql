-- Recent pipelines, newest first: id, name, revision, submitter, how many
-- of its jobs are in each state, its duration (submission to its last
-- job's end; empty while a job has not ended), the machines its jobs ran
-- on, and over_budget: ✗ when a job, a step or the pipeline itself went
-- over its budget.
--
-- Variables: name (optional: only pipelines of that name), last (default
-- 20: how many).
--
--   psql "$DSN" -f sql/reports/pipelines.sql
--   psql "$DSN" -v name=ci -v last=5 -f sql/reports/pipelines.sql
--   yardstick pipelines [--name ci] [--last 5]
\if :{?name}
\else
  \set name ''
\endif
\if :{?last}
\else
  \set last 20
\endif

WITH recent AS (
  SELECT *
  FROM pipelines
  WHERE :'name' = '' OR name = :'name'
  ORDER BY submitted_at DESC, id DESC
  LIMIT (:last)::int
),
states AS (
  SELECT j.pipeline_id, j.state, count(*) AS n
  FROM jobs j JOIN recent r ON r.id = j.pipeline_id
  GROUP BY j.pipeline_id, j.state
)
SELECT r.id,
       r.name,
       left(r.revision, 12)                                    AS revision,
       r.submitter,
       (SELECT string_agg(s.n || ' ' || s.state, ', ' ORDER BY s.state)
        FROM states s WHERE s.pipeline_id = r.id)              AS state,
       CASE WHEN bool_and(j.state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'))
            THEN extract(epoch FROM max(j.ended_at) - r.submitted_at) END
                                                               AS duration_s,
       COALESCE(string_agg(DISTINCT m.name, ' ' ORDER BY m.name), '') AS machines,
       CASE WHEN bool_or(j.over_budget)
              OR EXISTS (SELECT 1 FROM pipeline_budget_breaches b WHERE b.pipeline_id = r.id)
            THEN '✗' ELSE '' END                               AS over_budget,
       to_char(r.submitted_at, 'YYYY-MM-DD HH24:MI:SS')        AS submitted_at
FROM recent r
LEFT JOIN jobs j     ON j.pipeline_id = r.id
LEFT JOIN machines m ON m.id = j.machine_id
GROUP BY r.id, r.name, r.revision, r.submitter, r.submitted_at
ORDER BY r.submitted_at DESC, r.id DESC;
