-- usage_steps gains the instant-by-instant changes of borrowed (b) and unused (f) amounts, so
-- usage_minutes stops deriving them from minute averages (which lost the part of a minute a
-- team borrowed when the admission fell inside it; see usage_steps_between).
-- usage_steps is a work table, empty whenever committed: it is simply re-created. The minutes
-- written by the old rule are rebuilt on the next start ('rebuild_requested', see
-- streams/migrations.py).
DROP TABLE usage_steps;

CREATE TABLE usage_steps (
    cluster VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    instance_type VARCHAR NOT NULL,
    minute TIMESTAMP NOT NULL,
    d_n_acc BIGINT NOT NULL,
    d_n_cpu BIGINT NOT NULL,
    d_n_mem BIGINT NOT NULL,
    d_u_acc BIGINT NOT NULL,
    d_u_cpu BIGINT NOT NULL,
    d_u_mem BIGINT NOT NULL,
    d_p_acc BIGINT NOT NULL,
    d_p_cpu BIGINT NOT NULL,
    d_p_mem BIGINT NOT NULL,
    d_b_acc BIGINT NOT NULL,
    d_b_cpu BIGINT NOT NULL,
    d_b_mem BIGINT NOT NULL,
    d_f_acc BIGINT NOT NULL,
    d_f_cpu BIGINT NOT NULL,
    d_f_mem BIGINT NOT NULL,
    n_acc_us HUGEINT NOT NULL,
    n_cpu_us HUGEINT NOT NULL,
    n_mem_us HUGEINT NOT NULL,
    u_acc_us HUGEINT NOT NULL,
    u_cpu_us HUGEINT NOT NULL,
    u_mem_us HUGEINT NOT NULL,
    p_acc_us HUGEINT NOT NULL,
    p_cpu_us HUGEINT NOT NULL,
    p_mem_us HUGEINT NOT NULL,
    b_acc_us HUGEINT NOT NULL,
    b_cpu_us HUGEINT NOT NULL,
    b_mem_us HUGEINT NOT NULL,
    f_acc_us HUGEINT NOT NULL,
    f_cpu_us HUGEINT NOT NULL,
    f_mem_us HUGEINT NOT NULL
);

INSERT OR REPLACE INTO aggregate_state
SELECT 'rebuild_requested', current_timestamp::TIMESTAMP
WHERE EXISTS (SELECT 1 FROM usage_minutes);
