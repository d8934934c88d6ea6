-- Verdicts that say how they were reached and what they could have seen.
-- bench_results gets one row per variant and measure the samples allow
-- (wall always, cpu from user_s + sys_s, instructions when every run has
-- them); the measure joins the primary key. Reports that predate it read
-- the wall rows.
ALTER TABLE bench_results
  ADD COLUMN measure       text NOT NULL DEFAULT 'wall'
                           CHECK (measure IN ('wall', 'cpu', 'instructions')),
  ADD COLUMN method        text,              -- wilcoxon-signed-rank (paired by round) | mann-whitney
  ADD COLUMN order_seed    bigint,            -- the seed of the order within rounds; NULL: blocks
  ADD COLUMN mde           double precision,  -- minimum detectable effect, relative (0.061: 6.1 %);
                                              -- NULL: no change could have been significant
  ADD COLUMN mde_power     double precision,  -- the power the MDE is stated at (0.8)
  ADD COLUMN runs_for_2pct integer,           -- runs per variant that would detect 2 %; NULL: none
  ADD COLUMN contended     integer NOT NULL DEFAULT 0,  -- samples taken under contention
  ADD COLUMN stop_reason   text;              -- runs | precision | max_runs | max_time | min_runs

ALTER TABLE bench_results DROP CONSTRAINT bench_results_pkey;
ALTER TABLE bench_results ADD PRIMARY KEY (job_id, attempt, measure, variant_idx);

-- Read by the evaluation; written by the agent's run context (0006). Added
-- here only where 0006 has not (the same definitions), so that either
-- order of deployment works.
ALTER TABLE samples ADD COLUMN IF NOT EXISTS instructions bigint NULL;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS contended boolean NOT NULL DEFAULT false;
