-- Every apply attempt, newest first, with how many objects it changed.
-- Parameters: none.
SELECT r.apply_id, r.created_at, r.run_id, r.rollback_of, r.backend, r.cluster, r.caller,
    r.approved, r.outcome,
    count(o.position) FILTER (WHERE o.outcome = 'applied') AS objects_applied,
    count(o.position) AS objects,
    (SELECT count(*) FROM apply_refusals AS f WHERE f.apply_id = r.apply_id) AS refusals
FROM apply_runs AS r
LEFT JOIN apply_objects AS o USING (apply_id)
GROUP BY ALL
ORDER BY r.apply_id DESC
