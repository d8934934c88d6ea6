-- Bisection. The runs of `yardstick bisect`: each is a pipeline of the
-- bisected job alone, pinned to one machine, at one revision; `bisection`
-- says what it bisects. Such pipelines are marked searched when submitted,
-- so that their out-of-order revisions never enter a change-point series.
ALTER TABLE pipelines ADD COLUMN bisection text;

-- What each bisection found, or why it could not decide.
CREATE TABLE bisections (
  id            bigint PRIMARY KEY DEFAULT nextval('yardstick_ids'),
  pipeline_name text NOT NULL,
  job           text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('step', 'variant', 'metric')),
  what          text NOT NULL,
  machine       text NOT NULL,
  good_revision text NOT NULL,
  bad_revision  text NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('found', 'below_detectable', 'no_change',
                  'skipped', 'budget', 'failed', 'unconfirmed')),
  commit        text,            -- the first changed commit, when found
  subject       text,
  change_pct    float8,
  low_pct       float8,
  high_pct      float8,
  steps         integer NOT NULL CHECK (steps >= 0),
  runs          integer NOT NULL CHECK (runs >= 0),
  seconds       float8 NOT NULL CHECK (seconds >= 0),
  message       text NOT NULL,
  submitter     text NOT NULL DEFAULT '',
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bisections_series ON bisections (pipeline_name, job, kind, what, machine, id DESC);
