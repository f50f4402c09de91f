namespace OrleansKafka.Silo.Clustering;

/// <summary>What a PostgreSQL connection is for: each use has a pool of its own.</summary>
internal enum StoreUse
{
    Membership,
    Storage,
}
