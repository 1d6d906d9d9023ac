"""Topic ids beside DuckDB's offsets: what is recorded, and what is reported as a new topic."""

from __future__ import annotations

from datetime import datetime

import pytest

from taskgov.store import connect_memory, migrate
from taskgov.store.topic_ids import TopicIdChange, reconcile_topic_ids

SEEN = datetime(2026, 12, 4, 12, 0)
A, B = "01a24366-3a3c-7d90-aa7d-f9914a822e64", "01a24366-3aae-73f0-aea6-eb8df00ce5e1"


@pytest.mark.parametrize(
    ("stored", "broker", "read", "want_changes", "want_ids"),
    [
        pytest.param({}, {"t": A}, {"t"}, [], {"t": A}, id="first sight is recorded"),
        pytest.param({"t": A}, {"t": A}, {"t"}, [], {"t": A}, id="the same topic passes"),
        pytest.param(
            {"t": A},
            {"t": B},
            {"t"},
            [TopicIdChange("t", A, B)],
            {"t": A},
            id="a topic read from under a new id is reported and nothing is recorded",
        ),
        pytest.param(
            {"t": A, "u": A},
            {"t": A, "u": B},
            {"t", "u"},
            [TopicIdChange("u", A, B)],
            {"t": A, "u": A},
            id="one changed topic among others is reported alone",
        ),
        pytest.param(
            {"t": A},
            {"t": B},
            set(),
            [],
            {"t": B},
            id="a topic with no offsets takes the new id (offsets deleted to read it again)",
        ),
        pytest.param(
            {"t": A}, {}, {"t"}, [], {"t": A}, id="a broker that gives no id changes nothing"
        ),
    ],
)
def test_reconcile_topic_ids(
    stored: dict[str, str],
    broker: dict[str, str],
    read: set[str],
    want_changes: list[TopicIdChange],
    want_ids: dict[str, str],
) -> None:
    conn = connect_memory()
    migrate(conn)
    reconcile_topic_ids(conn, stored, set(), SEEN)

    changes = reconcile_topic_ids(conn, broker, read, SEEN)

    assert changes == want_changes
    assert dict(conn.execute("SELECT topic, topic_id FROM topic_ids").fetchall()) == want_ids
