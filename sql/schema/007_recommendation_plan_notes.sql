-- owner: optimizer
-- A run's plan also says how it was chosen: the evidence line, warnings, the candidate policies
-- replayed and their scores, and the one chosen (optimizer.plan.Plan). They are kept as one
-- JSON object, as printed, so `taskgov recommend --show` prints what the run printed.
ALTER TABLE recommendation_runs ADD COLUMN IF NOT EXISTS plan_notes_json VARCHAR;
