-- Machine calibration (docs/benchmarks.md, "Machine calibration"): what the
-- shipped micro-benchmarks (cpu, memory, spawn, io) measured on each
-- machine, one row per micro-benchmark per calibration, history kept. A
-- calibration is one job of kind "calibrate"; its rows share job_id and at.
--
-- median_s: the median of the repetitions' times (the machine's speed at
--   that work; lower is faster).
-- noise: 1.4826 x the median absolute deviation of the log times from
--   their median, a robust relative spread (0.02: runs typically 2 % apart).
-- times_s: every repetition's time, seconds, in run order.
CREATE TABLE machine_calibrations (
  machine_id bigint NOT NULL REFERENCES machines (id),
  agent_id   bigint REFERENCES agents (id),
  job_id     bigint NOT NULL REFERENCES jobs (id),
  attempt    integer NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  benchmark  text NOT NULL,
  median_s   double precision NOT NULL,
  noise      double precision NOT NULL,
  runs       integer NOT NULL,
  times_s    double precision[] NOT NULL,
  PRIMARY KEY (job_id, attempt, benchmark)
);
CREATE INDEX machine_calibrations_machine ON machine_calibrations (machine_id, at DESC);

-- The latest calibration of each machine: the rows of its newest job.
CREATE VIEW machine_calibration_latest AS
SELECT c.*
FROM machine_calibrations c
WHERE c.job_id = (SELECT c2.job_id FROM machine_calibrations c2
                  WHERE c2.machine_id = c.machine_id
                  ORDER BY c2.at DESC, c2.job_id DESC LIMIT 1);

-- A job only one agent may take (a calibration runs on the agent asked).
ALTER TABLE jobs ADD COLUMN target_agent text;
