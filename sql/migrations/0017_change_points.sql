-- Change points (docs/change-points.md): where a series of timings moved.
-- A series is one (pipeline name, job name, kind, what, machine): a step's
-- wall time, a benchmark variant's median wall time, or a metric, one
-- point per pipeline in submission order. The coordinator searches the
-- series a pipeline touched once all its jobs have ended, and keeps here the
-- change points of each series' latest search (a later search with more
-- points replaces those it can see again).
CREATE TABLE change_points (
  id                    bigserial PRIMARY KEY,
  pipeline_name         text NOT NULL,
  job                   text NOT NULL,
  kind                  text NOT NULL CHECK (kind IN ('step', 'variant', 'metric')),
  what                  text NOT NULL,             -- the step, variant or metric name
  unit                  text NOT NULL DEFAULT 's',
  machine_id            bigint NOT NULL REFERENCES machines (id),
  last_good_pipeline_id bigint NOT NULL,
  first_bad_pipeline_id bigint NOT NULL,
  last_good_revision    text NOT NULL,
  first_bad_revision    text NOT NULL,
  points_before         integer NOT NULL,
  points_after          integer NOT NULL,
  median_before         double precision NOT NULL,
  median_after          double precision NOT NULL,
  ratio                 double precision NOT NULL,  -- after / before
  ratio_low             double precision NOT NULL,  -- interval at 1 - alpha
  ratio_high            double precision NOT NULL,
  p_value               double precision NOT NULL,
  detectable            double precision NOT NULL,  -- smallest relative change the segments could show
  direction             text NOT NULL CHECK (direction IN ('regressed', 'improved')),
  found_by_pipeline_id  bigint NOT NULL,            -- the pipeline whose end found it
  found_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (pipeline_name, job, kind, what, machine_id, first_bad_pipeline_id)
);
CREATE INDEX change_points_found ON change_points (found_at);
CREATE INDEX change_points_pipeline ON change_points (pipeline_name, first_bad_pipeline_id);

-- When the pipeline's series were searched; NULL: not yet (all its jobs
-- must have ended). Pipelines before this migration count as searched, so
-- an upgrade does not search years of history at once: the first
-- pipeline of a name to end afterwards searches its series' past.
ALTER TABLE pipelines ADD COLUMN changes_checked_at timestamptz DEFAULT now();
ALTER TABLE pipelines ALTER COLUMN changes_checked_at SET DEFAULT NULL;
CREATE INDEX pipelines_changes_unchecked ON pipelines (id) WHERE changes_checked_at IS NULL;
