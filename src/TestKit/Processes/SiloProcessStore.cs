namespace OrleansKafka.Testing.Processes;

/// <summary>The membership store of a <see cref="SiloProcessCluster"/>.</summary>
public enum SiloProcessStore
{
    /// <summary>Debian's <c>redis-server</c>, with Orleans' Redis clustering.</summary>
    Redis,

    /// <summary>Debian's PostgreSQL, with Orleans' ADO.NET clustering and grain storage (<c>deploy/postgres/membership.sql</c>, <c>storage.sql</c>).</summary>
    Postgres,
}
