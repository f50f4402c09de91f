namespace OrleansKafka.LeaseAgents;

// Topic metadata: the partition counts each heartbeat reports, re-read now and then so that
// partitions added to a topic are leased too.
internal sealed partial class LeaseAgent
{
    /// <summary>Re-reads partition counts in the background: a slow broker must not delay lease renewal.</summary>
    private void StartMetadataRefresh(long now)
    {
        if (_time.GetElapsedTime(_metadataReadAt, now) < _settings.MetadataRefreshInterval || !_metadataRefresh.IsCompleted)
        {
            return;
        }

        _metadataReadAt = now;
        _metadataRefresh = Task.Run(async () =>
        {
            try
            {
                _partitionCounts = await _control.PartitionCountsAsync(_topics, _settings.StartupTimeout);
            }
            catch (Exception ex)
            {
                LogMetadataFailed(_logger, ex, _group);
            }
        });
    }
}
