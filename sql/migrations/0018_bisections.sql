-- The runs of `yardstick bisect`: each is a pipeline of the bisected job
-- alone, pinned to one machine, at one revision. `bisection` says what it
-- bisects; such pipelines are marked searched when submitted, so that
-- their out-of-order revisions never enter a change-point series.
ALTER TABLE pipelines ADD COLUMN bisection text;
