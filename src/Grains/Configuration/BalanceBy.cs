namespace OrleansKafka.Configuration;

/// <summary>What the lease grain balances across a group's silos.</summary>
public enum BalanceBy
{
    /// <summary>The partitions' measured cost: seconds per record × (records arriving a second + lag / 60 s).</summary>
    Load,

    /// <summary>The number of partitions per silo, in proportion to the silos' weights.</summary>
    Count,
}
