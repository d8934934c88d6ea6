-- Reports on years of history answer from the rows they show, not from a
-- pass over the history (docs/benchmarks.md "Two years of history").
--
-- A job's latest runs per machine, newest first (recent_builds,
-- slowest_units).
CREATE INDEX IF NOT EXISTS jobs_name_machine ON jobs (name, machine_id, id);
-- The last weeks of pipelines (success_rates), and the latest pipelines
-- that ran a job, newest first (compare_machines).
CREATE INDEX IF NOT EXISTS pipelines_submitted ON pipelines (submitted_at, id);
-- The jobs of the last weeks, answered from the index alone.
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at) INCLUDE (pipeline_id, state);
-- Two revisions by prefix (revision_samples, compare --revisions).
CREATE INDEX IF NOT EXISTS pipelines_revision ON pipelines (revision text_pattern_ops);
