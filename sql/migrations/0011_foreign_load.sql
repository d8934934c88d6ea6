-- What other processes did during each measured run, whatever the measured
-- tree's parallelism (common/run_context.hpp): foreign_share, the machine's
-- busy CPU time minus the tree's own as a share of the whole machine
-- (0..1); cpu_pressure, /proc/pressure/cpu's "some" stall time over the run
-- in percent of wall. NULL: not measured (an older agent, a run too short,
-- a kernel without PSI).
ALTER TABLE samples ADD COLUMN foreign_share double precision;
ALTER TABLE samples ADD COLUMN cpu_pressure double precision;
ALTER TABLE steps ADD COLUMN foreign_share double precision;
ALTER TABLE steps ADD COLUMN cpu_pressure double precision;

-- Agents that share a host (the same /etc/machine-id, whatever their
-- --machine names) honour one host lock for exclusive jobs; shown by
-- `yardstick agents`. And the CPU frequency governor, part of a machine's
-- fingerprint where it has one.
ALTER TABLE agents ADD COLUMN host text NOT NULL DEFAULT '';
ALTER TABLE machines ADD COLUMN governor text NOT NULL DEFAULT '';
