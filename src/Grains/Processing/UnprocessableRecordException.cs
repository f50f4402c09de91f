namespace OrleansKafka.Processing;

/// <summary>
/// A record that cannot succeed however often it is tried: its key or value does not
/// deserialize, or it is larger than the processor's limit. It skips the retries and goes
/// straight to the processor's failure action.
/// </summary>
internal sealed class UnprocessableRecordException(string message, Exception? inner = null) : Exception(message, inner);
