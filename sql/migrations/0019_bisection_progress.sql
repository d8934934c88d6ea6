-- A bisection under way: `yardstick bisect` records it when it starts
-- (outcome 'running'), updates its message after each step, and writes
-- its outcome over it at the end. updated_at: when it was last heard of,
-- so that one whose command was stopped reads as silent, not as running.
ALTER TABLE bisections DROP CONSTRAINT bisections_outcome_check;
ALTER TABLE bisections ADD CONSTRAINT bisections_outcome_check
  CHECK (outcome IN ('running', 'found', 'below_detectable', 'no_change', 'skipped', 'budget',
                     'failed', 'unconfirmed'));
ALTER TABLE bisections ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
