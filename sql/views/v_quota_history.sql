-- v_quota_history: each ClusterQueue quota line and when it held: from its event to the
-- ClusterQueue's next event (valid_to NULL: still in force). A 'deleted' event has no lines, so
-- it ends the previous ones. Small (one row per quota change and line), so it stays a view.
CREATE OR REPLACE VIEW v_quota_history AS
WITH ordered AS (
    SELECT
        e.*,
        lead(e.occurred_at) OVER (
            PARTITION BY e.cluster, e.name
            ORDER BY e.occurred_at, e.event_type = 'deleted', e.event_id
        ) AS valid_to
    FROM cluster_queue_events AS e
)
SELECT
    o.cluster,
    o.name AS cluster_queue,
    o.team,
    o.cohort,
    q.flavor,
    q.resource,
    q.nominal,
    q.borrowing_limit,
    q.lending_limit,
    o.occurred_at AS valid_from,
    o.valid_to
FROM ordered AS o
JOIN cluster_queue_quotas AS q ON q.event_id = o.event_id;
