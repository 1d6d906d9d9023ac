-- pending_cause(message): why a Workload waits, from the message Kueue writes on its
-- QuotaReserved=False condition. The first rule that matches wins:
--   inactive_queue          "is inactive", "doesn't exist": nothing is evaluated meanwhile.
--   waiting_for_preemption  "Pending the preemption": victims are chosen; Kueue appends this to
--                           the flavor message, so it is checked before the quota rules.
--   waiting_for_quota       "insufficient unused quota": some flavor fits once quota is free, so
--                           that is what the Workload waits for, even if other flavors never fit.
--   exceeds_max_quota       "> maximum capacity" or "borrowing limit": no flavor can ever fit.
--   no_matching_flavor      "doesn't match node affinity", "untolerated taint",
--                           "unavailable in ClusterQueue".
--   other                   anything else, including no message yet.
CREATE OR REPLACE MACRO pending_cause(message) AS
    CASE
        WHEN message IS NULL THEN 'other'
        WHEN contains(message, 'is inactive') OR contains(message, 'doesn''t exist')
            THEN 'inactive_queue'
        WHEN contains(message, 'Pending the preemption') THEN 'waiting_for_preemption'
        WHEN contains(message, 'insufficient unused quota') THEN 'waiting_for_quota'
        WHEN contains(message, '> maximum capacity') OR contains(message, 'borrowing limit')
            THEN 'exceeds_max_quota'
        WHEN contains(message, 'doesn''t match node affinity')
            OR contains(message, 'untolerated taint')
            OR contains(message, 'unavailable in ClusterQueue')
            THEN 'no_matching_flavor'
        ELSE 'other'
    END;
