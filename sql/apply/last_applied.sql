-- When an apply (or rollback) last changed each team: the cooldown guardrail's input.
-- Parameters: none. Rows: team, applied_at.
SELECT o.team, max(r.created_at) AS applied_at
FROM apply_objects AS o
JOIN apply_runs AS r USING (apply_id)
WHERE o.outcome = 'applied' AND o.team IS NOT NULL
GROUP BY o.team
