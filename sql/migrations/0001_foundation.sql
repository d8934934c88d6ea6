-- yardstick schema, version 1: machines, agents, pipelines, jobs, steps, logs.
-- Migrations are forward-only; the coordinator applies each in a transaction
-- and records it in schema_migrations.

-- Pipelines and jobs share one id space, so `yardstick status ID` and
-- `yardstick cancel ID` need not be told which one ID is.
CREATE SEQUENCE yardstick_ids;

CREATE TABLE machines (
  id            bigserial PRIMARY KEY,
  fingerprint   text NOT NULL UNIQUE,
  name          text NOT NULL,
  cpu_model     text NOT NULL,
  logical_cores integer NOT NULL,
  memory_bytes  bigint NOT NULL,
  os_release    text NOT NULL,
  kernel        text NOT NULL,
  arch          text NOT NULL,
  tools         jsonb NOT NULL DEFAULT '{}',   -- {"gcc": "12.2.0", ...}
  hourly_cost   numeric,                       -- set by hand, for cost reports
  first_seen    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  labels     jsonb NOT NULL DEFAULT '[]',          -- ["os=linux", "tool=gcc", ...]
  slots      integer NOT NULL CHECK (slots > 0),
  machine_id bigint NOT NULL REFERENCES machines (id),
  version    text NOT NULL DEFAULT '',
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pipelines (
  id           bigint PRIMARY KEY DEFAULT nextval('yardstick_ids'),
  name         text NOT NULL,
  revision     text NOT NULL DEFAULT '',
  branch       text NOT NULL DEFAULT '',
  submitter    text NOT NULL DEFAULT '',
  file_name    text NOT NULL DEFAULT '',
  definition   text NOT NULL,                  -- the pipeline file as submitted
  submitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pipelines_name_submitted ON pipelines (name, submitted_at DESC);

CREATE TABLE jobs (
  id                bigint PRIMARY KEY DEFAULT nextval('yardstick_ids'),
  pipeline_id       bigint NOT NULL REFERENCES pipelines (id),
  name              text NOT NULL,             -- as in the file; fan-out copies share it
  kind              text NOT NULL,
  state             text NOT NULL CHECK (state IN ('pending', 'queued', 'assigned', 'running',
                      'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost')),
  attempt           integer NOT NULL DEFAULT 1,
  retries           integer NOT NULL DEFAULT 0,
  priority          integer NOT NULL DEFAULT 0,
  on_labels         jsonb NOT NULL DEFAULT '[]',
  target_machine_id bigint REFERENCES machines (id),   -- set for on.machines: all
  spec              jsonb NOT NULL,            -- what the agent runs: steps, env, timeouts
  agent_id          bigint REFERENCES agents (id),
  machine_id        bigint REFERENCES machines (id),
  created_at        timestamptz NOT NULL DEFAULT now(),
  queued_at         timestamptz,
  started_at        timestamptz,
  ended_at          timestamptz,
  message           text NOT NULL DEFAULT ''
);
CREATE INDEX jobs_pipeline ON jobs (pipeline_id);
CREATE INDEX jobs_active ON jobs (state) WHERE state NOT IN
  ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped');

CREATE TABLE job_needs (
  job_id  bigint NOT NULL REFERENCES jobs (id),
  need_id bigint NOT NULL REFERENCES jobs (id),
  PRIMARY KEY (job_id, need_id)
);

-- Every transition of every job, in order: the audit trail of the lifecycle.
CREATE TABLE job_events (
  id         bigserial PRIMARY KEY,
  job_id     bigint NOT NULL REFERENCES jobs (id),
  attempt    integer NOT NULL,
  from_state text NOT NULL,
  to_state   text NOT NULL,
  agent_id   bigint REFERENCES agents (id),
  message    text NOT NULL DEFAULT '',
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_events_job ON job_events (job_id);

CREATE TABLE steps (
  job_id     bigint NOT NULL REFERENCES jobs (id),
  attempt    integer NOT NULL,
  idx        integer NOT NULL,
  name       text NOT NULL,
  command    text NOT NULL DEFAULT '',
  timed      boolean NOT NULL DEFAULT true,
  agent_id   bigint REFERENCES agents (id),
  machine_id bigint REFERENCES machines (id),
  started_at timestamptz NOT NULL,
  ended_at   timestamptz,
  wall_s     double precision,                 -- monotonic clock
  user_s     double precision,
  sys_s      double precision,
  max_rss_kb bigint,
  exit_code  integer,                          -- -1 when killed by a signal
  signal     integer,
  timed_out  boolean NOT NULL DEFAULT false,
  PRIMARY KEY (job_id, attempt, idx)
);
CREATE INDEX steps_machine_name ON steps (machine_id, name);

CREATE TABLE log_chunks (
  id       bigserial PRIMARY KEY,
  job_id   bigint NOT NULL REFERENCES jobs (id),
  attempt  integer NOT NULL,
  seq      bigint NOT NULL,
  stream   text NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
  step_idx integer,
  data     bytea NOT NULL,
  at       timestamptz NOT NULL,
  UNIQUE (job_id, attempt, seq)
);
