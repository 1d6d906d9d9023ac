-- The last change of the aggregates recorded so far (0: none), what an audit run now covers.
-- Parameters: none.
SELECT coalesce(max(change_id), 0) FROM aggregate_changes;
