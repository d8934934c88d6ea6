-- Which coordinator leads. Two or more coordinators may point at one
-- database; the one holding the advisory lock 7400412 on its writer session
-- leads, and took a new epoch here when it got the lock. Every transaction
-- of the leader begins with yardstick_fence(its epoch): a coordinator whose
-- epoch is stale (another took over while it was paused or cut off) is
-- refused by the database before it writes anything. heartbeat_at is kept
-- by the leader about once a second; a standby cuts the session of a
-- leader whose heartbeat is older than a lease.
CREATE TABLE coordinator_leader (
  id               smallint PRIMARY KEY CHECK (id = 1),
  epoch            bigint NOT NULL,
  holder           text NOT NULL,           -- host:pid of the leading coordinator
  agents_endpoint  text NOT NULL,
  clients_endpoint text NOT NULL,
  since            timestamptz NOT NULL,
  heartbeat_at     timestamptz NOT NULL
);
INSERT INTO coordinator_leader VALUES (1, 0, '', '', '', now(), now());

-- Refuses (SQLSTATE YS001) a transaction of a leader whose epoch is not the
-- current one. It takes no row lock: the leader's transactions run on the
-- session that holds the advisory lock, so none of them can outlive the
-- lock, and a new leader can only raise the epoch once the old session,
-- and its open transaction with it, is gone. A plain read keeps an idle
-- turn read-only (no WAL, no flush). With `beat`, the leader's heartbeat
-- is kept too.
CREATE FUNCTION yardstick_fence(leader_epoch bigint, beat boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  current_epoch bigint;
BEGIN
  IF beat THEN
    UPDATE coordinator_leader SET heartbeat_at = now() WHERE id = 1 RETURNING epoch
      INTO current_epoch;
  ELSE
    SELECT epoch INTO current_epoch FROM coordinator_leader WHERE id = 1;
  END IF;
  IF current_epoch IS DISTINCT FROM leader_epoch THEN
    RAISE EXCEPTION 'stale leader epoch % (the leader is at epoch %)', leader_epoch, current_epoch
      USING ERRCODE = 'YS001';
  END IF;
END
$$;
