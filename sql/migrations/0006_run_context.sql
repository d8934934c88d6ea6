-- Run context of every counted benchmark run (samples) and every timed step
-- (steps), as the agent measured it (docs/benchmarks.md, "Run context").
-- NULL means "not measured" (older rows, an older agent, or a kernel that
-- does not tell), never 0 as a guess.
--   round, position   the counted round (from 0) and the variant's place
--                     within it (from 0; 0 when variants run in blocks)
--   vol_ctx, invol_ctx  voluntary and involuntary context switches of the
--                     measured process tree (wait4 rusage)
--   steal_pct, iowait_pct  the machine's steal and iowait over the run, in
--                     percent of all CPUs' time (/proc/stat)
--   load1             1-minute load average just before the run
--   cpu_mhz           CPU frequency just before the run, mean over CPUs
--   task_clock_s      perf task-clock of the tree: seconds on a CPU
--   instructions, cycles  user-space hardware counters of the tree; NULL
--                     where the kernel or the hypervisor has none
--   contended         under contention by the agent's rule
ALTER TABLE samples
  ADD COLUMN round integer,
  ADD COLUMN position integer,
  ADD COLUMN vol_ctx bigint,
  ADD COLUMN invol_ctx bigint,
  ADD COLUMN steal_pct double precision,
  ADD COLUMN iowait_pct double precision,
  ADD COLUMN load1 double precision,
  ADD COLUMN cpu_mhz double precision NULL,
  ADD COLUMN task_clock_s double precision NULL,
  ADD COLUMN instructions bigint NULL,
  ADD COLUMN cycles bigint NULL,
  ADD COLUMN contended boolean NOT NULL DEFAULT false;

ALTER TABLE steps
  ADD COLUMN vol_ctx bigint,
  ADD COLUMN invol_ctx bigint,
  ADD COLUMN steal_pct double precision,
  ADD COLUMN iowait_pct double precision,
  ADD COLUMN load1 double precision,
  ADD COLUMN cpu_mhz double precision,
  ADD COLUMN task_clock_s double precision,
  ADD COLUMN instructions bigint,
  ADD COLUMN cycles bigint;
