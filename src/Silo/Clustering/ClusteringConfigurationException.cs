namespace OrleansKafka.Silo.Clustering;

/// <summary>A clustering setting that is invalid or names a store that does not answer.</summary>
internal sealed class ClusteringConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
