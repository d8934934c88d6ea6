-- What the coordinator refused, newest first: a peer's message or result
-- that broke a bound or a rule of the protocol (docs/protocol.md,
-- "Bounds"), that PostgreSQL refused, that failed in the coordinator's own
-- code ("internal error: ..."), a result from an agent that did not hold
-- the job's attempt, and stored jobs it could not load. Nothing refused
-- was stored; an agent's refused result was acknowledged so that it is not
-- sent again.
--
-- Columns: at, peer (agent name, "client NAME", or "store"), job_id and
-- attempt (when the message named them), what (the message body, as the
-- schema names it: sample, logChunk, ...), reason.
--
-- Variables: last (default 50), the number of rows; peer (optional), one
-- peer's refusals only.
--
--   psql -v last=20 -f sql/reports/refusals.sql
--   yardstick report refusals -v peer=ci-3
\if :{?last}
\else
  \set last 50
\endif
\if :{?peer}
\else
  \set peer ''
\endif

SELECT at, peer, job_id, attempt, what, reason
FROM refusals
WHERE :'peer' = '' OR peer = :'peer'
ORDER BY id DESC
LIMIT (:last)::int;
