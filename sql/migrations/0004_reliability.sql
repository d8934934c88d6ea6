-- Reliability: what must survive a coordinator restart.
--
-- agents.draining: `yardstick drain NAME` (or SIGTERM to the agent) stops new
--   assignments; kept across restarts until undone.
-- agents.incarnation: the process the agent's last hello came from.
-- jobs.cancel_requested: a cancel is resent until the agent confirms it,
--   also by a coordinator that restarted in between.
-- log_cuts: how much of a job attempt's log was cut to keep it under the
--   cap (the head and the tail are kept; the marker chunk says so).
-- job_refusals: results the coordinator refused (the agent was told to drop
--   them) and messages the store refused, so that nothing vanishes unseen.
ALTER TABLE agents ADD COLUMN draining boolean NOT NULL DEFAULT false;
ALTER TABLE agents ADD COLUMN incarnation text NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;

CREATE TABLE log_cuts (
  job_id     bigint NOT NULL REFERENCES jobs (id),
  attempt    integer NOT NULL,
  cut_bytes  bigint NOT NULL DEFAULT 0,
  cut_chunks bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, attempt)
);

CREATE TABLE refusals (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  peer    text NOT NULL,           -- agent name or "client"
  job_id  bigint,                  -- no foreign key: the id may be a peer's invention
  attempt integer,
  what    text NOT NULL,           -- the message body
  reason  text NOT NULL
);

-- The commit each job's checkout step checked out (the pipeline's revision
-- is set from it when the submitter named none, a branch, or HEAD).
ALTER TABLE jobs ADD COLUMN revision text NOT NULL DEFAULT '';
