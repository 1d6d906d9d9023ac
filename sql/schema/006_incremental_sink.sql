-- Per Workload, the earliest occurred_at or created_at of its stored events: a lower bound the sink uses to
-- read only the tail of the event log when it refreshes the Workloads a batch touches (the log
-- is appended in roughly time order, so DuckDB's zone maps skip every older row group). The
-- primary key lets the sink look Workloads up by index (an upsert), never by scanning.
-- Every event, interval and wait of the Workload starts at or after it (a wait may start at
-- created_at, hence both). first_at only moves back (a replaced version never raises it), so it stays a lower bound.
CREATE TABLE IF NOT EXISTS workload_first_events (
    cluster VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    first_at TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster, uid)
);

INSERT INTO workload_first_events
SELECT cluster, uid, least(min(occurred_at), min(created_at))
FROM workload_events
GROUP BY cluster, uid
ON CONFLICT (cluster, uid) DO UPDATE SET first_at = least(first_at, excluded.first_at);

-- The stretches of workload_intervals still open at the watermark (end_at NULL), kept apart so
-- the minute refresh reads the open ones without scanning every row group of the history for
-- NULLs: closed stretches it reads through end_at's zone maps (the tail), open ones here. Its
-- size is what is pending or running now, not the history.
CREATE TABLE IF NOT EXISTS open_workload_intervals AS
SELECT * FROM workload_intervals WHERE end_at IS NULL;
