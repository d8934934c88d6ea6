-- Logs by month. log_chunks is the largest table by far (every byte a job
-- printed) and the only one whose rows are ever removed in bulk: with
-- `--keep-logs 90d` the coordinator drops whole months of it, which costs
-- the same on a month of gigabytes as on an empty one, where a DELETE
-- would rewrite and vacuum them. Measured numbers (steps, samples,
-- metrics, results) are kept forever and read by job, through indexes;
-- they are not partitioned.
--
-- The partition key is the chunk's time (`at`, as the agent read the
-- output), so it is part of the unique key: a chunk an agent sends again
-- carries the same time and is still stored once. A chunk whose time is
-- outside every month made (an agent's clock far off) goes to
-- log_chunks_default, which retention trims by DELETE.
--
-- This migration moves the existing rows into their months: it reads and
-- writes the whole table once (docs/benchmarks.md "Two years of history"
-- gives its time on a filled database).
ALTER TABLE log_chunks RENAME TO log_chunks_unpartitioned;
ALTER TABLE log_chunks_unpartitioned RENAME CONSTRAINT log_chunks_pkey
  TO log_chunks_unpartitioned_pkey;
ALTER TABLE log_chunks_unpartitioned RENAME CONSTRAINT log_chunks_job_id_attempt_seq_key
  TO log_chunks_unpartitioned_job_id_attempt_seq_key;

CREATE TABLE log_chunks (
  id       bigint NOT NULL DEFAULT nextval('log_chunks_id_seq'),  -- readers' cursor
  job_id   bigint NOT NULL REFERENCES jobs (id),
  attempt  integer NOT NULL,
  seq      bigint NOT NULL,
  stream   text NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
  step_idx integer,
  data     bytea NOT NULL,
  at       timestamptz NOT NULL,
  UNIQUE (job_id, attempt, seq, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE log_chunks_id_seq OWNED BY log_chunks.id;
CREATE TABLE log_chunks_default PARTITION OF log_chunks DEFAULT;

-- The partition of the month (UTC) that holds `t`: log_chunks_YYYY_MM,
-- made when missing, with the rows of that month the default partition
-- held moved into it. Returns its name.
CREATE FUNCTION yardstick_log_month(t timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  lo timestamptz := date_trunc('month', t, 'UTC');
  hi timestamptz := date_trunc('month', t, 'UTC') + interval '1 month';
  part text := 'log_chunks_' || to_char(date_trunc('month', t, 'UTC') AT TIME ZONE 'UTC',
                                        'YYYY_MM');
BEGIN
  IF to_regclass(part) IS NOT NULL THEN
    RETURN part;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE log_chunks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                 part);
  EXECUTE format('WITH moved AS (DELETE FROM log_chunks_default WHERE at >= %L AND at < %L'
                 ' RETURNING *) INSERT INTO %I SELECT * FROM moved', lo, hi, part);
  EXECUTE format('ALTER TABLE log_chunks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                 part, lo, hi);
  RETURN part;
END $$;

-- Retention: drops every month that ended before `keep_from` and deletes
-- the default partition's rows older than it. Returns the months dropped.
CREATE FUNCTION yardstick_drop_log_months(keep_from timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  dropped integer := 0;
BEGIN
  FOR r IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'log_chunks'::regclass AND c.relname ~ '^log_chunks_[0-9]{4}_[0-9]{2}$'
    ORDER BY c.relname
  LOOP
    IF make_timestamptz(substr(r.relname, 12, 4)::int, substr(r.relname, 17, 2)::int, 1, 0, 0, 0,
                        'UTC') + interval '1 month' <= keep_from THEN
      EXECUTE format('DROP TABLE %I', r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  DELETE FROM log_chunks_default WHERE at < keep_from;
  UPDATE log_retention SET removed_before = greatest(removed_before, keep_from);
  RETURN dropped;
END $$;

-- What retention removed: the logs of chunks older than removed_before are
-- gone (the readers say so, rather than show an empty log).
CREATE TABLE log_retention (
  id             smallint PRIMARY KEY CHECK (id = 1),
  removed_before timestamptz NOT NULL
);
INSERT INTO log_retention VALUES (1, '-infinity');

-- The months the existing rows need (ten years back at most: older chunks,
-- and any from a clock far ahead, stay in the default partition), this one
-- and the next two; then the rows.
SELECT yardstick_log_month(m)
FROM generate_series(
       date_trunc('month', greatest(COALESCE((SELECT min(at) FROM log_chunks_unpartitioned), now()),
                                    now() - interval '10 years'), 'UTC'),
       now() + interval '2 months', interval '1 month') m;
INSERT INTO log_chunks SELECT * FROM log_chunks_unpartitioned;
DROP TABLE log_chunks_unpartitioned;
