namespace OrleansKafka.Silo.Clustering;

/// <summary>Where silos keep the cluster's membership table (<c>Silo:Clustering</c>).</summary>
internal enum MembershipStore
{
    /// <summary>One silo, no store.</summary>
    Localhost,

    /// <summary>A Redis server (<c>Silo:Redis</c>).</summary>
    Redis,

    /// <summary>A PostgreSQL database with the Orleans membership tables (<c>Silo:Postgres</c>).</summary>
    Postgres,
}
