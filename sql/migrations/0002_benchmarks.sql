-- Benchmarks: samples (one row per counted run), metrics (collectors and
-- the metrics file), per-variant results with their comparison to the
-- baseline, and budget breaches.

CREATE TABLE samples (
  job_id      bigint NOT NULL REFERENCES jobs (id),
  attempt     integer NOT NULL,
  variant_idx integer NOT NULL,                -- 0 is the baseline
  variant     text NOT NULL,
  idx         integer NOT NULL,                -- counted run number, from 0
  wall_s      double precision NOT NULL,       -- monotonic clock
  user_s      double precision NOT NULL,
  sys_s       double precision NOT NULL,
  max_rss_kb  bigint NOT NULL,
  exit_code   integer NOT NULL,
  signal      integer NOT NULL DEFAULT 0,
  at          timestamptz NOT NULL,
  PRIMARY KEY (job_id, attempt, variant_idx, idx)
);

CREATE TABLE metrics (
  id       bigserial PRIMARY KEY,
  job_id   bigint NOT NULL REFERENCES jobs (id),
  attempt  integer NOT NULL,
  seq      bigint NOT NULL,
  step_idx integer,                            -- NULL for a benchmark run
  variant  text NOT NULL DEFAULT '',
  run_idx  integer,                            -- NULL for a step
  name     text NOT NULL,                      -- e.g. ccache.hit_rate, cargo.crate.syn
  value    double precision NOT NULL,
  unit     text NOT NULL DEFAULT '',
  UNIQUE (job_id, attempt, seq)
);
CREATE INDEX metrics_job_name ON metrics (job_id, name);

-- Written by the coordinator when a bench job ends, from its samples.
CREATE TABLE bench_results (
  job_id      bigint NOT NULL REFERENCES jobs (id),
  attempt     integer NOT NULL,
  variant_idx integer NOT NULL,
  variant     text NOT NULL,
  n           integer NOT NULL,
  min_s       double precision,
  max_s       double precision,
  mean_s      double precision,
  median_s    double precision,
  stddev_s    double precision,
  mad_s       double precision,
  q1_s        double precision,
  q3_s        double precision,
  ratio       double precision,                -- median / the baseline's median
  ci_low      double precision,                -- 95 % interval of the ratio
  ci_high     double precision,
  p_value     double precision,                -- Mann-Whitney U, two-sided, against the baseline
  verdict     text,                            -- faster | slower | no change; NULL for the baseline
  warnings    text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (job_id, attempt, variant_idx)
);

CREATE TABLE budget_breaches (
  id       bigserial PRIMARY KEY,
  job_id   bigint NOT NULL REFERENCES jobs (id),
  attempt  integer NOT NULL,
  step_idx integer,                            -- NULL: the job's budget
  subject  text NOT NULL,                      -- 'wall' or a metric name
  budget   text NOT NULL,                      -- e.g. 'wall <= 420s', 'ccache.hit_rate >= 0.8'
  actual   double precision,                   -- NULL when the metric was never reported
  fails_job boolean NOT NULL,
  at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE jobs ADD COLUMN over_budget boolean NOT NULL DEFAULT false;
