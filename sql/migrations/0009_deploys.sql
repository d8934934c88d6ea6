-- Deploy jobs (docs/deploy.md): each phase with its start and end, and how
-- each deploy ended with what its probe counted. Rows are keyed by the job
-- attempt; an agent that sends a phase twice (a replay after a restart)
-- stores it once.
--
-- deploy_phases.name: "step NAME", healthy (from the end of the steps to
--   the first healthy check), stable (healthy for min_healthy), switch
--   (from the first probe answer naming the new version to the last one
--   naming the old), rollback, rollback verified.
CREATE TABLE deploy_phases (
  job_id     bigint NOT NULL REFERENCES jobs (id),
  attempt    integer NOT NULL,
  seq        bigint NOT NULL,      -- the result's sequence number: the order phases ended in
  name       text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at   timestamptz NOT NULL,
  ok         boolean NOT NULL,
  detail     text NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, attempt, seq)
);

-- outcome: succeeded, failed, rolled back, rollback failed.
-- reason: step_failed, health_deadline, probe_failures ('' on success).
-- probe_*: NULL when the deploy had no probe. probe_longest_outage_ms: the
--   longest run of failed requests, from the first failed request's send to
--   the next good one's; probe_late: ticks sent more than one interval late.
CREATE TABLE deploys (
  job_id        bigint NOT NULL REFERENCES jobs (id),
  attempt       integer NOT NULL,
  outcome       text NOT NULL,
  reason        text NOT NULL DEFAULT '',
  message       text NOT NULL DEFAULT '',
  at            timestamptz NOT NULL DEFAULT now(),
  old_version   text NOT NULL DEFAULT '',
  new_version   text NOT NULL DEFAULT '',
  switch_old    bigint NOT NULL DEFAULT 0,
  switch_new    bigint NOT NULL DEFAULT 0,
  probe_interval_ms        double precision,
  probe_sent               bigint,
  probe_failed             bigint,
  probe_failed_status      bigint,
  probe_failed_refused     bigint,
  probe_failed_reset       bigint,
  probe_failed_timeout     bigint,
  probe_failed_other       bigint,
  probe_late               bigint,
  probe_longest_outage_ms  double precision,
  probe_p50_ms             double precision,
  probe_p99_ms             double precision,
  PRIMARY KEY (job_id, attempt)
);
CREATE INDEX deploys_at ON deploys (at DESC);
