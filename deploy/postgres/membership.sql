-- OrleansKafka: PostgreSQL schema for Orleans cluster membership through
-- Microsoft.Orleans.Clustering.AdoNet 10.4.x (invariant "Npgsql").
--
-- Meant for a fresh, empty database (deploy/postgres/postgres.sh applies it to the
-- throwaway dev server). Running it again is harmless: tables are only created when
-- missing and the query texts are overwritten with the ones below. It does NOT migrate
-- a database whose tables were created by some other script with other columns.
--
-- How the provider uses the database:
--   * At start-up it runs `SELECT QueryKey, QueryText FROM OrleansQuery` and keeps the
--     texts; later it runs them with named parameters (@DeploymentId is the cluster id).
--     Every key listed at the end must exist, otherwise initialisation fails.
--   * The table version is one integer per cluster. A reader gets it with every read;
--     a writer sends the version it read as @Version, and the write must succeed only if
--     the version is still that value, bumping it by one in the same statement.
--   * Writes that report success return exactly one row with one column (boolean here).
--   * Status codes are Orleans' SiloStatus: 3 = Active, 6 = Dead.
--   * Times arrive as UTC DateTime, which Npgsql sends as timestamptz.
--
-- Every query below references every parameter the provider binds for it, and each
-- one is a single statement, so each runs atomically in its own implicit transaction.

SET client_min_messages = warning;   -- quiet "already exists, skipping" on a re-run

BEGIN;

-- Query catalogue read by the provider at start-up.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- One row per cluster: the optimistic-concurrency counter for the whole membership table.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150) NOT NULL PRIMARY KEY,
    Version      integer      NOT NULL DEFAULT 0,
    ChangedAt    timestamptz  NOT NULL DEFAULT now()   -- informational only
);

-- One row per silo incarnation (address, port and generation identify it).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)  NOT NULL
        REFERENCES OrleansMembershipVersionTable (DeploymentId),
    Address      varchar(45)   NOT NULL,
    Port         integer       NOT NULL,
    Generation   integer       NOT NULL,
    SiloName     varchar(150)  NOT NULL,
    HostName     varchar(150)  NOT NULL,
    Status       integer       NOT NULL,
    ProxyPort    integer       NOT NULL DEFAULT 0,  -- read back as an int; 0 = no gateway
    SuspectTimes varchar(8000) NULL,                -- "silo,time|silo,time", Orleans' own format
    StartTime    timestamptz   NOT NULL,
    IAmAliveTime timestamptz   NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

-- The statements. Dollar quoting keeps the SQL readable; the texts contain no '$'.
INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES

-- Create the cluster's version row if it is missing.
-- Result: one row, true when this call created it.
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM created) AS Succeeded;
$q$),

-- Add a silo row, provided the table version is still @Version and the row is new.
-- The version bump and the insert happen in one statement: both or neither. The key
-- check sits in the version update, so a duplicate returns false without bumping;
-- two racing inserts serialise on the version row and only one can match @Version.
-- Result: one row, true when the row was added.
('InsertMembershipKey', $q$
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable AS v
    SET Version = v.Version + 1,
        ChangedAt = now()
    WHERE v.DeploymentId = @DeploymentId
      AND v.Version = @Version
      AND NOT EXISTS (
            SELECT 1
            FROM OrleansMembershipTable AS e
            WHERE e.DeploymentId = @DeploymentId
              AND e.Address = @Address
              AND e.Port = @Port
              AND e.Generation = @Generation)
    RETURNING v.DeploymentId
),
added AS (
    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName,
         Status, ProxyPort, SuspectTimes, StartTime, IAmAliveTime)
    SELECT b.DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
           @Status, @ProxyPort, NULL, @StartTime, @IAmAliveTime
    FROM bumped AS b
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM added) AS Succeeded;
$q$),

-- Change a silo row's status and suspicions, provided the table version is still
-- @Version and the row exists; the version moves on in the same statement.
-- IAmAliveTime never goes backwards (a heartbeat may have landed since the read).
-- Result: one row, true when the row was updated.
('UpdateMembershipKey', $q$
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable AS v
    SET Version = v.Version + 1,
        ChangedAt = now()
    WHERE v.DeploymentId = @DeploymentId
      AND v.Version = @Version
      AND EXISTS (
            SELECT 1
            FROM OrleansMembershipTable AS e
            WHERE e.DeploymentId = @DeploymentId
              AND e.Address = @Address
              AND e.Port = @Port
              AND e.Generation = @Generation)
    RETURNING v.DeploymentId
),
changed AS (
    UPDATE OrleansMembershipTable AS m
    SET Status = @Status,
        SuspectTimes = @SuspectTimes,
        IAmAliveTime = GREATEST(m.IAmAliveTime, @IAmAliveTime)
    FROM bumped AS b
    WHERE m.DeploymentId = b.DeploymentId
      AND m.Address = @Address
      AND m.Port = @Port
      AND m.Generation = @Generation
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM changed) AS Succeeded;
$q$),

-- Heartbeat: touches only IAmAliveTime, leaves the table version alone.
-- The provider ignores the outcome.
('UpdateIAmAlivetimeKey', $q$
UPDATE OrleansMembershipTable
SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
WHERE DeploymentId = @DeploymentId
  AND Address = @Address
  AND Port = @Port
  AND Generation = @Generation;
$q$),

-- One silo row plus the table version. The version row drives the result, so there
-- is always at least one row; with no such silo its columns are NULL (StartTime NULL
-- is how the provider recognises "no entry").
('MembershipReadRowKey', $q$
SELECT v.DeploymentId,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
       m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime,
       v.Version
FROM OrleansMembershipVersionTable AS v
LEFT JOIN OrleansMembershipTable AS m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address
      AND m.Port = @Port
      AND m.Generation = @Generation
WHERE v.DeploymentId = @DeploymentId;
$q$),

-- Every silo row of the cluster, each carrying the table version; same shape as above.
('MembershipReadAllKey', $q$
SELECT v.DeploymentId,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
       m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime,
       v.Version
FROM OrleansMembershipVersionTable AS v
LEFT JOIN OrleansMembershipTable AS m
       ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
$q$),

-- Gateways for clients: silos in status @Status (the provider passes Active) that
-- expose a gateway port. Columns: Address, ProxyPort, Generation.
('GatewaysQueryKey', $q$
SELECT Address, ProxyPort, Generation
FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Status = @Status
  AND ProxyPort > 0;
$q$),

-- Forget a whole cluster: its silo rows, then its version row (one statement).
('DeleteMembershipTableEntriesKey', $q$
WITH silos AS (
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
)
DELETE FROM OrleansMembershipVersionTable
WHERE DeploymentId = @DeploymentId;
$q$),

-- Set-based clean-up of old dead silos (@IAmAliveTime is the cut-off). Required by the
-- provider, though 10.4.x only runs it when CleanupDefunctSiloEntryKey is absent:
-- removes Dead rows that started and last heartbeated before the cut-off and carry no
-- suspicion votes (rows with votes are left to the per-row query below).
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Status = 6
  AND StartTime < @IAmAliveTime
  AND IAmAliveTime < @IAmAliveTime
  AND COALESCE(SuspectTimes, '') = '';
$q$),

-- Per-row clean-up (optional key, used by 10.4.x when present): the provider reads all
-- rows, picks Dead ones older than its cut-off, and sends each back with the values it
-- saw. The row goes only if it is still Dead and unchanged since that read.
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Address = @Address
  AND Port = @Port
  AND Generation = @Generation
  AND Status = 6
  AND StartTime = @StartTime
  AND IAmAliveTime = @IAmAliveTime
  AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

COMMIT;
