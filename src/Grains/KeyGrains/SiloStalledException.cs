namespace OrleansKafka.KeyGrains;

/// <summary>
/// A key grain refused a record because its silo has just stood still and has not yet confirmed
/// that it is still a member (<see cref="SiloStallWatch"/>). The record was not processed; the
/// sender sends it again (<see cref="UndeliveredCalls"/>), and no failure policy applies.
/// </summary>
[GenerateSerializer, Alias("OrleansKafka.SiloStalledException")]
internal sealed class SiloStalledException : Exception
{
    public SiloStalledException(string message)
        : base(message)
    {
    }
}
