-- Samples and metrics arrive by the hundred thousand (a bench with many
-- short runs, a cargo build with hundreds of crates). The foreign key from
-- each row to jobs cost a trigger and an index lookup per row: about 40 %
-- of PostgreSQL's time on a batch of samples. The coordinator writes these
-- rows only for jobs of its own table, in the transaction that holds the
-- job, and never deletes jobs, so the check protects nothing it does; the
-- join in every report still reads through jobs.
ALTER TABLE samples DROP CONSTRAINT samples_job_id_fkey;
ALTER TABLE metrics DROP CONSTRAINT metrics_job_id_fkey;
