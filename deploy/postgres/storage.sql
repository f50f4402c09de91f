-- OrleansKafka: PostgreSQL schema for Orleans grain state through
-- Microsoft.Orleans.Persistence.AdoNet 10.4.x (invariant "Npgsql"); the silo host uses it for
-- the grain storage "orleans-kafka" when Silo:Clustering = Postgres.
--
-- Needs PostgreSQL 15 or later (UNIQUE NULLS NOT DISTINCT). Meant for the same database as
-- membership.sql, in either order: both create the shared OrleansQuery table when it is
-- missing, and deploy/postgres/postgres.sh applies this one after membership.sql. Running it
-- again is harmless: the table is only created when missing and the query texts are
-- overwritten with the ones below. It does NOT migrate a table created by some other script
-- (for instance Orleans' own PostgreSQL-Persistence.sql, whose OrleansStorage has no unique key).
--
-- How the provider uses the database:
--   * At start-up it reads its texts from OrleansQuery by key: WriteToStorageKey,
--     ReadFromStorageKey and ClearStorageKey must exist, otherwise initialisation fails.
--     DeleteStorageKey is optional and only used with DeleteStateOnClear = true (the provider
--     refuses to start with that option when the key is missing).
--   * Every query gets the same identifying parameters:
--       @ServiceId               text     ClusterOptions.ServiceId
--       @GrainTypeString         text     the *state name* given to the storage (for
--                                         [PersistentState("control", ...)] it is "control"),
--                                         generic arguments reduced to type names
--       @GrainIdN0, @GrainIdN1   bigint   the grain key: a Guid split into two halves, or
--                                         0 and the integer key; both 0 for a string key
--       @GrainIdExtensionString  text     the key extension of a Guid or integer key (NULL when
--                                         there is none), or the whole string key
--       @GrainIdHash, @GrainTypeHash  integer  32-bit hashes of the key and of the state name
--   * The hashes can collide, so they only help the index: a row is identified by all seven
--     values together, and every query compares every one of them (the extension with
--     IS NOT DISTINCT FROM, as it may be NULL). The grain type and the storage provider name
--     are not part of the key: two grains whose keys and state names are equal share a row,
--     and so would two providers pointed at one database with the same ServiceId.
--   * Versions (the grain's ETag) are integers. The first write of a grain sends
--     @GrainStateVersion NULL and creates the row with Version 1; every later write and every
--     clear sends the version it last saw, and succeeds only if the row still has it, adding
--     one. A successful write or clear returns exactly one row whose first column is the new
--     version; a refused one returns no row, which the provider turns into an
--     InconsistentStateException (so does a NULL, or the version that was sent).
--   * Payloads are the bytes of the configured grain storage serializer (bytea); the
--     provider reads the columns PayloadBinary and Version by name (Npgsql matches names
--     without regard to case). A read returning no row means "no state yet".
--
-- Every query below references every parameter the provider binds for it, and each one is a
-- single statement, so each runs atomically in its own implicit transaction.

SET client_min_messages = warning;   -- quiet "already exists, skipping" on a re-run

BEGIN;

-- Query catalogue read by the provider at start-up (the same table as in membership.sql).
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- One row per grain state. A cleared state keeps its row, with PayloadBinary NULL, so that
-- its version keeps counting up.
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer       NOT NULL,
    GrainTypeHash          integer       NOT NULL,
    ServiceId              varchar(150)  NOT NULL,
    GrainTypeString        varchar(512)  NOT NULL,
    GrainIdN0              bigint        NOT NULL,
    GrainIdN1              bigint        NOT NULL,
    GrainIdExtensionString varchar(1024) NULL,     -- group/topic/partition for this project
    PayloadBinary          bytea         NULL,     -- NULL = cleared
    Version                integer       NOT NULL,
    ModifiedOn             timestamptz   NOT NULL DEFAULT now(),   -- informational only
    -- The identity, hashes first for a selective index. NULLS NOT DISTINCT makes a NULL
    -- extension count as a value, so a grain without one also gets at most one row; it is
    -- the key the first write's ON CONFLICT relies on. (Keys whose index entry passes
    -- PostgreSQL's limit of about 2.7 kB are refused on write with an error.)
    CONSTRAINT OrleansStorage_Grain UNIQUE NULLS NOT DISTINCT
        (GrainIdHash, GrainTypeHash, ServiceId, GrainTypeString,
         GrainIdN0, GrainIdN1, GrainIdExtensionString)
);

-- The statements. Dollar quoting keeps the SQL readable; the texts contain no '$'.
INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES

-- Save a state. Exactly one of the two parts can act, chosen by @GrainStateVersion:
--   * NULL (the grain has never seen a row): create the row with Version 1. When a row
--     already exists, or a concurrent first write gets there first, the unique key makes
--     the insert do nothing: only one of two racing activations can succeed.
--   * a number: replace the payload, provided the row still has that version, and add one.
--     Of two racing updates the second waits for the first and then no longer matches.
-- Result: one row, NewGrainStateVersion, when the state was saved; no row otherwise.
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE OrleansStorage AS s
    SET PayloadBinary = @PayloadBinary,
        Version = s.Version + 1,
        ModifiedOn = now()
    WHERE @GrainStateVersion IS NOT NULL
      AND s.GrainIdHash = @GrainIdHash
      AND s.GrainTypeHash = @GrainTypeHash
      AND s.ServiceId = @ServiceId
      AND s.GrainTypeString = @GrainTypeString
      AND s.GrainIdN0 = @GrainIdN0
      AND s.GrainIdN1 = @GrainIdN1
      AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND s.Version = @GrainStateVersion
    RETURNING s.Version
),
inserted AS (
    INSERT INTO OrleansStorage
        (GrainIdHash, GrainTypeHash, ServiceId, GrainTypeString,
         GrainIdN0, GrainIdN1, GrainIdExtensionString, PayloadBinary, Version)
    SELECT @GrainIdHash, @GrainTypeHash, @ServiceId, @GrainTypeString,
           @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT ON CONSTRAINT OrleansStorage_Grain DO NOTHING
    RETURNING Version
)
SELECT Version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT Version FROM inserted;
$q$),

-- Load a state: its payload (NULL once cleared) and its version. No row when the grain
-- has never been written (or its row was deleted); the unique key allows at most one.
('ReadFromStorageKey', $q$
SELECT s.PayloadBinary, s.Version
FROM OrleansStorage AS s
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.ServiceId = @ServiceId
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

-- Clear a state (the default): drop the payload but keep the row, provided it still has
-- version @GrainStateVersion, and add one, so that a writer holding an older version stays
-- refused. The provider only calls this for a state that exists.
-- Result: one row, the new version, when cleared; no row otherwise.
('ClearStorageKey', $q$
UPDATE OrleansStorage AS s
SET PayloadBinary = NULL,
    Version = s.Version + 1,
    ModifiedOn = now()
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.ServiceId = @ServiceId
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND s.Version = @GrainStateVersion
RETURNING s.Version AS NewGrainStateVersion;
$q$),

-- Clear by deleting (only with DeleteStateOnClear = true): remove the row, provided it
-- still has version @GrainStateVersion. The provider wants a version that differs from the
-- one it sent, so this returns it plus one; it then forgets the version, and the next write
-- starts again at 1. That reset is the price of this option: a stale activation still
-- holding some old version could overwrite the new row once it gets back to that number,
-- which clearing above (versions only ever grow) rules out.
-- Result: one row when deleted; no row otherwise.
('DeleteStorageKey', $q$
DELETE FROM OrleansStorage AS s
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.ServiceId = @ServiceId
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND s.Version = @GrainStateVersion
RETURNING s.Version + 1 AS NewGrainStateVersion;
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

COMMIT;
