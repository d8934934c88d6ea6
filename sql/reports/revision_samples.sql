-- The samples `yardstick compare --revisions` judges: one job's counted
-- runs between two revisions, per machine and benchmark, with every measure
-- (wall and CPU seconds, instructions when counted) and the contention
-- flag. The statistics (Mann-Whitney, the Moses interval of the ratio B / A,
-- the minimum detectable effect) are computed by the coordinator from
-- these rows with the code that judges a benchmark at job end.
--
-- A benchmark is a variant of a bench job (every counted run is a sample)
-- or a timed step of a build job (every pipeline run is a sample; no
-- instructions, never contended; a bench job's setup steps are not
-- benchmarks). Revisions match by prefix; pipeline_name, when set, keeps
-- the pipelines of that name (jobs of unrelated pipelines share names).
--
--   psql "$DSN" -v job=cold-build -v rev_a=1a2b3c -v rev_b=4d5e6f -f sql/reports/revision_samples.sql
--   psql "$DSN" -v job=cold-build -v rev_a=1a2b3c -v rev_b=4d5e6f -v pipeline_name=build-speed -f ...
\if :{?pipeline_name}
\else
  \set pipeline_name ''
\endif
SELECT m.name AS machine, 'variant ' || s.variant AS benchmark,
       CASE WHEN p.revision LIKE :'rev_a' || '%' THEN 'a' ELSE 'b' END AS side,
       s.wall_s, s.user_s + s.sys_s AS cpu_s, s.instructions, s.contended
FROM samples s
JOIN jobs j ON j.id = s.job_id AND j.attempt = s.attempt
JOIN pipelines p ON p.id = j.pipeline_id
JOIN machines m ON m.id = j.machine_id
WHERE j.name = :'job' AND s.exit_code = 0
  AND (:'pipeline_name' = '' OR p.name = :'pipeline_name')
  AND (p.revision LIKE :'rev_a' || '%' OR p.revision LIKE :'rev_b' || '%')
UNION ALL
SELECT m.name, 'step ' || st.name,
       CASE WHEN p.revision LIKE :'rev_a' || '%' THEN 'a' ELSE 'b' END, st.wall_s,
       st.user_s + st.sys_s, NULL::bigint, false
FROM steps st
JOIN jobs j ON j.id = st.job_id AND j.attempt = st.attempt
JOIN pipelines p ON p.id = j.pipeline_id
JOIN machines m ON m.id = st.machine_id
WHERE j.name = :'job' AND st.timed AND st.exit_code = 0 AND st.name <> 'checkout'
  AND j.kind NOT IN ('calibrate', 'bench')
  AND (:'pipeline_name' = '' OR p.name = :'pipeline_name')
  AND (p.revision LIKE :'rev_a' || '%' OR p.revision LIKE :'rev_b' || '%')
ORDER BY 1, 2, 3;
