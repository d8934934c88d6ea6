-- One series' value in each of the pipelines listed (ids, comma-separated),
-- as the change-point search reads it: a step's wall time (kind step), a
-- benchmark variant's median wall time (variant) or a metric's mean
-- (metric), of job `job`'s final attempt, with the job's state. A
-- pipeline whose job did not succeed has a state and no value. `yardstick
-- bisect` judges its runs by it.
--
--   psql "$DSN" -v ids=101,102 -v job=build -v kind=step -v what=compile -f sql/reports/bisect_values.sql
SELECT j.pipeline_id AS pipeline,
       COALESCE(NULLIF(j.revision, ''), p.revision) AS revision,
       j.state,
       CASE WHEN j.state <> 'succeeded' THEN NULL
            WHEN :'kind' = 'step' THEN
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wall_s) FROM steps s
               WHERE s.job_id = j.id AND s.attempt = j.attempt AND s.name = :'what'
                 AND s.wall_s IS NOT NULL)
            WHEN :'kind' = 'variant' THEN
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wall_s) FROM samples s
               WHERE s.job_id = j.id AND s.attempt = j.attempt AND s.variant = :'what')
            WHEN :'kind' = 'metric' THEN
              (SELECT avg(x.value) FROM metrics x
               WHERE x.job_id = j.id AND x.attempt = j.attempt AND x.name = :'what'
                 AND x.run_idx IS NULL)
       END AS value
FROM jobs j
JOIN pipelines p ON p.id = j.pipeline_id
WHERE j.pipeline_id = ANY (string_to_array(:'ids', ',')::bigint[])
  AND j.name = :'job'
ORDER BY j.pipeline_id, j.id;
