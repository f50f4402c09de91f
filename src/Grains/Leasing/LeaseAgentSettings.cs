namespace OrleansKafka.Leasing;

/// <summary>The timings a <see cref="LeaseAgent"/> runs by, taken from the processing options.</summary>
internal sealed record LeaseAgentSettings(TimeSpan RenewInterval, TimeSpan StartupTimeout, TimeSpan MetadataRefreshInterval, int Weight = 1);
