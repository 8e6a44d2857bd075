CREATE TABLE IF NOT EXISTS "segflow"."segment_membership_history" AS
SELECT
    CAST(NULL AS VARCHAR) AS segment,
    customer_id,
    holdout,
    CAST(NULL AS TIMESTAMP_NTZ) AS joined_at,
    CAST(NULL AS TIMESTAMP_NTZ) AS left_at,
    -- The models' as_of date of the run the member joined in: the date
    -- holdout_results measures outcomes from.
    CAST(NULL AS DATE) AS joined_as_of,
    CAST(NULL AS VARCHAR) AS joined_run_id,
    CAST(NULL AS VARCHAR) AS left_run_id
FROM "segflow"."segment_vip"
WHERE FALSE;

CREATE TABLE IF NOT EXISTS "segflow"."sync_state" AS
SELECT
    CAST(NULL AS VARCHAR) AS destination,
    CAST(NULL AS VARCHAR) AS segment,
    customer_id,
    email,
    row_hash,
    CAST(NULL AS TIMESTAMP_NTZ) AS synced_at,
    CAST(NULL AS VARCHAR) AS run_id
FROM "segflow"."segment_vip"
WHERE FALSE;

CREATE TABLE IF NOT EXISTS "segflow"."sync_dead_letters" AS
SELECT
    CAST(NULL AS VARCHAR) AS destination,
    CAST(NULL AS VARCHAR) AS segment,
    CAST(NULL AS VARCHAR) AS op,
    customer_id,
    email,
    row_hash,
    CAST(NULL AS VARCHAR) AS error_code,
    CAST(NULL AS VARCHAR) AS error_message,
    CAST(NULL AS TIMESTAMP_NTZ) AS failed_at,
    CAST(NULL AS VARCHAR) AS run_id,
    CAST(NULL AS TIMESTAMP_NTZ) AS retried_at
FROM "segflow"."segment_vip"
WHERE FALSE;

CREATE TABLE IF NOT EXISTS "segflow"."sync_acks" AS
SELECT
    CAST(NULL AS VARCHAR) AS destination,
    CAST(NULL AS VARCHAR) AS segment,
    CAST(NULL AS VARCHAR) AS op,
    CAST(NULL AS VARCHAR) AS customer_id,
    CAST(NULL AS VARCHAR) AS error_code,
    CAST(NULL AS VARCHAR) AS error_message,
    CAST(NULL AS BOOLEAN) AS retryable,
    CAST(NULL AS VARCHAR) AS run_id
FROM "segflow"."segment_vip"
WHERE FALSE;

UPDATE "segflow"."segment_membership_history"
SET left_at = TIMESTAMP '2024-06-30 06:00:00.000000', left_run_id = 'run-1'
WHERE segment = 'vip'
  AND left_at IS NULL
  AND customer_id NOT IN (SELECT m.customer_id FROM "segflow"."segment_vip" AS m);

INSERT INTO "segflow"."segment_membership_history" (segment, customer_id, holdout, joined_at, joined_as_of, joined_run_id)
SELECT 'vip', m.customer_id, m.holdout, TIMESTAMP '2024-06-30 06:00:00.000000', DATE '2024-06-30', 'run-1'
FROM "segflow"."segment_vip" AS m
WHERE m.customer_id NOT IN (
    SELECT h.customer_id
    FROM "segflow"."segment_membership_history" AS h
    WHERE h.segment = 'vip' AND h.left_at IS NULL
);

UPDATE "segflow"."sync_dead_letters"
SET retried_at = TIMESTAMP '2024-06-30 06:00:00.000000'
WHERE destination = 'crm' AND segment = 'vip'
  AND retried_at IS NULL;

CREATE OR REPLACE TABLE "segflow"."sync_upserts_vip__crm" AS
SELECT
    m.customer_id,
    m.email,
    m.segment,
    m.monetary,
    m.row_hash,
    CASE WHEN s.customer_id IS NULL THEN 'add' ELSE 'update' END AS change
FROM "segflow"."segment_vip" AS m
LEFT JOIN (
    SELECT customer_id, row_hash
    FROM "segflow"."sync_state"
    WHERE destination = 'crm' AND segment = 'vip'
) AS s ON s.customer_id = m.customer_id
WHERE NOT m.holdout
  AND (s.customer_id IS NULL OR s.row_hash <> m.row_hash)
  AND NOT EXISTS (
    SELECT 1
    FROM "segflow"."sync_dead_letters" AS x
    WHERE x.destination = 'crm' AND x.segment = 'vip'
      AND x.op = 'upsert' AND x.retried_at IS NULL
      AND x.customer_id = m.customer_id AND x.row_hash = m.row_hash
  );

CREATE OR REPLACE TABLE "segflow"."sync_removes_vip__crm" AS
SELECT
    s.customer_id,
    s.email,
    s.row_hash
FROM "segflow"."sync_state" AS s
WHERE s.destination = 'crm' AND s.segment = 'vip'
  AND NOT EXISTS (
    SELECT 1 FROM "segflow"."segment_vip" AS m
    WHERE m.customer_id = s.customer_id AND NOT m.holdout
  )
  AND NOT EXISTS (
    SELECT 1
    FROM "segflow"."sync_dead_letters" AS x
    WHERE x.destination = 'crm' AND x.segment = 'vip'
      AND x.op = 'remove' AND x.retried_at IS NULL
      AND x.customer_id = s.customer_id
  );

SELECT customer_id, email, segment, monetary FROM "segflow"."sync_upserts_vip__crm" ORDER BY customer_id;

SELECT customer_id, email FROM "segflow"."sync_removes_vip__crm" ORDER BY customer_id;

SELECT customer_id, email, segment, monetary FROM "segflow"."segment_vip" WHERE NOT holdout ORDER BY customer_id;

INSERT INTO "segflow"."sync_acks" (destination, segment, op, customer_id, error_code, error_message, retryable, run_id) VALUES
('crm', 'vip', 'upsert', 'c1', NULL, NULL, false, 'run-1'),
('crm', 'vip', 'remove', 'it\'s', 'gone', 'a "quoted" \\ message', true, 'run-1');

SELECT COUNT(*) AS n FROM "segflow"."sync_acks" WHERE destination = 'crm' AND segment = 'vip';

DELETE FROM "segflow"."sync_state"
WHERE destination = 'crm' AND segment = 'vip'
  AND CAST(customer_id AS VARCHAR) IN (
    SELECT a.customer_id
    FROM "segflow"."sync_acks" AS a
    WHERE a.destination = 'crm' AND a.segment = 'vip'
      AND a.op = 'upsert' AND a.error_code IS NULL
  );

INSERT INTO "segflow"."sync_state" (destination, segment, customer_id, email, row_hash, synced_at, run_id)
SELECT 'crm', 'vip', u.customer_id, u.email, u.row_hash, TIMESTAMP '2024-06-30 06:00:00.000000', 'run-1'
FROM "segflow"."sync_upserts_vip__crm" AS u
WHERE CAST(u.customer_id AS VARCHAR) IN (
    SELECT a.customer_id
    FROM "segflow"."sync_acks" AS a
    WHERE a.destination = 'crm' AND a.segment = 'vip'
      AND a.op = 'upsert' AND a.error_code IS NULL
);

INSERT INTO "segflow"."sync_dead_letters" (destination, segment, op, customer_id, email, row_hash, error_code, error_message, failed_at, run_id)
SELECT 'crm', 'vip', 'upsert', u.customer_id, u.email, u.row_hash, a.error_code, a.error_message, TIMESTAMP '2024-06-30 06:00:00.000000', a.run_id
FROM "segflow"."sync_upserts_vip__crm" AS u
JOIN "segflow"."sync_acks" AS a
  ON a.customer_id = CAST(u.customer_id AS VARCHAR)
WHERE a.destination = 'crm' AND a.segment = 'vip'
  AND a.op = 'upsert' AND a.error_code IS NOT NULL AND NOT a.retryable
  AND NOT EXISTS (
    SELECT 1
    FROM "segflow"."sync_dead_letters" AS x
    WHERE x.destination = 'crm' AND x.segment = 'vip'
      AND x.op = 'upsert' AND x.retried_at IS NULL
      AND x.customer_id = u.customer_id AND x.row_hash = u.row_hash
  );

DELETE FROM "segflow"."sync_state"
WHERE destination = 'crm' AND segment = 'vip'
  AND CAST(customer_id AS VARCHAR) IN (
    SELECT a.customer_id
    FROM "segflow"."sync_acks" AS a
    WHERE a.destination = 'crm' AND a.segment = 'vip'
      AND a.op = 'remove' AND a.error_code IS NULL
  );

INSERT INTO "segflow"."sync_dead_letters" (destination, segment, op, customer_id, email, row_hash, error_code, error_message, failed_at, run_id)
SELECT 'crm', 'vip', 'remove', u.customer_id, u.email, u.row_hash, a.error_code, a.error_message, TIMESTAMP '2024-06-30 06:00:00.000000', a.run_id
FROM "segflow"."sync_removes_vip__crm" AS u
JOIN "segflow"."sync_acks" AS a
  ON a.customer_id = CAST(u.customer_id AS VARCHAR)
WHERE a.destination = 'crm' AND a.segment = 'vip'
  AND a.op = 'remove' AND a.error_code IS NOT NULL AND NOT a.retryable
  AND NOT EXISTS (
    SELECT 1
    FROM "segflow"."sync_dead_letters" AS x
    WHERE x.destination = 'crm' AND x.segment = 'vip'
      AND x.op = 'remove' AND x.retried_at IS NULL
      AND x.customer_id = u.customer_id AND x.row_hash = u.row_hash
  );

DELETE FROM "segflow"."sync_acks"
WHERE destination = 'crm' AND segment = 'vip';

DELETE FROM "segflow"."sync_state"
WHERE destination = 'crm' AND segment = 'vip';

INSERT INTO "segflow"."sync_state" (destination, segment, customer_id, email, row_hash, synced_at, run_id)
SELECT 'crm', 'vip', m.customer_id, m.email, m.row_hash, TIMESTAMP '2024-06-30 06:00:00.000000', 'run-1'
FROM "segflow"."segment_vip" AS m
WHERE NOT m.holdout;
