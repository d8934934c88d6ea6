-- One job between two revisions, per machine and benchmark: medians, their
-- ratio (B / A) with its 95 % interval (Moses, from the pairwise ratios of
-- runs), the Mann-Whitney U test (normal approximation with tie and
-- continuity correction; the interval's order statistic from the same
-- approximation) and a verdict: faster or slower when p < alpha (default
-- 0.05) and |ratio - 1| > noise_floor (default 0.01).
--
-- A benchmark is a variant of a bench job (every counted run is a sample)
-- or a timed step of a build job (every pipeline run is a sample).
-- Revisions match by prefix, so abbreviated hashes work.
--
--   psql "$DSN" -v job=cold-build -v rev_a=1a2b3c -v rev_b=4d5e6f -f sql/reports/compare_revisions.sql
--   psql ... -v alpha=0.01 -v noise_floor=0.02 -f sql/reports/compare_revisions.sql
--   yardstick compare --revisions 1a2b3c 4d5e6f --job cold-build
\if :{?alpha}
\else
  \set alpha 0.05
\endif
\if :{?noise_floor}
\else
  \set noise_floor 0.01
\endif

WITH samples_ AS (
  SELECT m.name AS machine, 'variant ' || s.variant AS benchmark,
         CASE WHEN p.revision LIKE :'rev_a' || '%' THEN 'a' ELSE 'b' END AS side, s.wall_s
  FROM samples s
  JOIN jobs j ON j.id = s.job_id AND j.attempt = s.attempt
  JOIN pipelines p ON p.id = j.pipeline_id
  JOIN machines m ON m.id = j.machine_id
  WHERE j.name = :'job' AND s.exit_code = 0
    AND (p.revision LIKE :'rev_a' || '%' OR p.revision LIKE :'rev_b' || '%')
  UNION ALL
  SELECT m.name, 'step ' || st.name,
         CASE WHEN p.revision LIKE :'rev_a' || '%' THEN 'a' ELSE 'b' END, st.wall_s
  FROM steps st
  JOIN jobs j ON j.id = st.job_id AND j.attempt = st.attempt
  JOIN pipelines p ON p.id = j.pipeline_id
  JOIN machines m ON m.id = st.machine_id
  WHERE j.name = :'job' AND st.timed AND st.exit_code = 0 AND st.name <> 'checkout'
    AND (p.revision LIKE :'rev_a' || '%' OR p.revision LIKE :'rev_b' || '%')
),
ranked AS (
  SELECT *,
         rank() OVER w + (count(*) OVER (PARTITION BY machine, benchmark, wall_s) - 1) / 2.0 AS r
  FROM samples_
  WINDOW w AS (PARTITION BY machine, benchmark ORDER BY wall_s)
),
ties AS (
  SELECT machine, benchmark, sum(t * t * t - t) AS tie_term
  FROM (SELECT machine, benchmark, count(*)::float8 AS t FROM samples_
        GROUP BY machine, benchmark, wall_s) g
  GROUP BY machine, benchmark
),
u AS (
  SELECT machine, benchmark,
         count(*) FILTER (WHERE side = 'a')::float8 AS n1,
         count(*) FILTER (WHERE side = 'b')::float8 AS n2,
         sum(r) FILTER (WHERE side = 'a') AS r1,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_s) FILTER (WHERE side = 'a') AS median_a,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_s) FILTER (WHERE side = 'b') AS median_b
  FROM ranked GROUP BY machine, benchmark
),
z AS (
  SELECT u.*,
         (abs((r1 - n1 * (n1 + 1) / 2) - n1 * n2 / 2) - 0.5)
           / NULLIF(sqrt(n1 * n2 / 12 * ((n1 + n2 + 1) - t.tie_term / ((n1 + n2) * (n1 + n2 - 1)))), 0)
           AS z
  FROM u JOIN ties t USING (machine, benchmark)
  WHERE n1 > 0 AND n2 > 0
),
pairs AS (
  SELECT a.machine, a.benchmark, ln(b.wall_s) - ln(a.wall_s) AS d
  FROM samples_ a
  JOIN samples_ b ON b.machine = a.machine AND b.benchmark = a.benchmark AND b.side = 'b'
  WHERE a.side = 'a' AND a.wall_s > 0 AND b.wall_s > 0
),
ordered AS (
  SELECT machine, benchmark, d,
         row_number() OVER (PARTITION BY machine, benchmark ORDER BY d) AS k,
         count(*) OVER (PARTITION BY machine, benchmark) AS pairs
  FROM pairs
),
ci AS (
  -- The qu-th smallest and qu-th largest log ratio; qu the 2.5 % quantile of U.
  SELECT o.machine, o.benchmark,
         exp(min(o.d) FILTER (WHERE o.k = q.qu)) AS ci_low,
         exp(max(o.d) FILTER (WHERE o.k = o.pairs - q.qu + 1)) AS ci_high
  FROM ordered o
  JOIN (SELECT machine, benchmark,
               greatest(1, ceil(n1 * n2 / 2 - 1.959963984540054
                                * sqrt(n1 * n2 * (n1 + n2 + 1) / 12) - 0.5)) AS qu
        FROM u) q ON q.machine = o.machine AND q.benchmark = o.benchmark
  GROUP BY o.machine, o.benchmark
),
p AS (
  -- 2 (1 - Phi(z)), with erf from Abramowitz and Stegun 7.1.26 (error below 1.5e-7).
  SELECT z.*,
         CASE WHEN z IS NULL THEN 1.0 ELSE
           least(1.0, 2 * (1 - 0.5 * (1 + (1 - (((((1.061405429 * tt - 1.453152027) * tt)
             + 1.421413741) * tt - 0.284496736) * tt + 0.254829592) * tt
             * exp(-((greatest(z, 0) / sqrt(2)) ^ 2))))))
         END AS p_value
  FROM (SELECT z.*, 1 / (1 + 0.3275911 * greatest(z, 0) / sqrt(2)) AS tt FROM z) z
)
SELECT machine,
       benchmark,
       n1::int                                      AS n_a,
       n2::int                                      AS n_b,
       round(median_a::numeric, 4)                  AS median_a_s,
       round(median_b::numeric, 4)                  AS median_b_s,
       round((median_b / median_a)::numeric, 4)     AS ratio,
       round(ci.ci_low::numeric, 4)                 AS ci_low,
       round(ci.ci_high::numeric, 4)                AS ci_high,
       p_value::numeric(12, 6)                      AS p_value,
       CASE WHEN p_value < (:alpha)::float8
             AND abs(median_b / median_a - 1) > (:noise_floor)::float8
            THEN CASE WHEN median_b < median_a THEN 'faster' ELSE 'slower' END
            ELSE 'no change' END                    AS verdict
FROM p
LEFT JOIN ci USING (machine, benchmark)
ORDER BY machine, benchmark;
