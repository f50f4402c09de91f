namespace OrleansKafka.Cli;

/// <summary>Where the CLI connects: a silo gateway (host:port) and the cluster's ids.</summary>
internal sealed record ConnectionOptions(string Gateway, string ClusterId, string ServiceId);
