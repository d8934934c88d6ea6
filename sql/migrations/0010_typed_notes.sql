-- Why a job is where it is, as a word a program can test (common/types.hpp
-- JobNote): no_agent, concurrency (queued and waiting), need_ended,
-- regressed, unjudgeable (skipped); '' when none. The message beside it
-- says the same in words.
ALTER TABLE jobs ADD COLUMN note text NOT NULL DEFAULT '';

-- Jobs a coordinator could not load at start (a stored spec that no longer
-- decodes) are failed, and the reason kept with the other refusals.
