-- The samples behind `yardstick compare PIPELINE`: every counted run of the
-- pipeline's bench jobs (their current attempt), with every measure (wall
-- and CPU seconds, instructions when counted), the contention flag and
-- what the job's verdict was asked to use (alpha, noise floor,
-- interleaving, measure). `compare --drop-contended` recomputes the
-- verdicts from these rows without the contended ones.
--
--   psql "$DSN" -v pipeline=42 -f sql/reports/variant_samples.sql
SELECT j.name AS job, m.name AS machine, s.job_id, s.attempt, s.variant_idx, s.variant, s.idx,
       s.wall_s, s.user_s + s.sys_s AS cpu_s, s.instructions, s.contended,
       COALESCE((j.spec -> 'bench' ->> 'alpha')::float8, 0.05) AS alpha,
       COALESCE((j.spec -> 'bench' ->> 'noiseFloor')::float8, 0.01) AS noise_floor,
       COALESCE((j.spec -> 'bench' ->> 'interleave')::boolean, true) AS interleave,
       COALESCE(NULLIF(j.spec -> 'bench' ->> 'measure', ''), 'wall') AS measure
FROM samples s
JOIN jobs j     ON j.id = s.job_id AND j.attempt = s.attempt
JOIN machines m ON m.id = j.machine_id
WHERE j.pipeline_id = :pipeline AND j.kind = 'bench'
ORDER BY j.name, m.name, s.job_id, s.variant_idx, s.idx;
