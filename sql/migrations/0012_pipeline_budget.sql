-- A pipeline's own budget (`budget: { wall: 7m }` at the top of its file):
-- from submission to its last job's end. Judged by the coordinator when the
-- pipeline's last job ends; a breach is a row of pipeline_budget_breaches.
-- Its own table rather than budget_breaches with a NULL job: every reader
-- of budget_breaches joins a job attempt, and a breach of the pipeline has
-- neither a job nor an attempt.
ALTER TABLE pipelines ADD COLUMN budget_wall_ms bigint CHECK (budget_wall_ms > 0);  -- NULL: none

CREATE TABLE pipeline_budget_breaches (
  pipeline_id bigint PRIMARY KEY REFERENCES pipelines (id),
  budget      text NOT NULL,                   -- e.g. 'wall <= 420s'
  actual      double precision NOT NULL,       -- seconds from submission to the last job's end
  at          timestamptz NOT NULL DEFAULT now()
);
