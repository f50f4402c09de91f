using System.Globalization;

namespace OrleansKafka.Silo.Audit;

/// <summary>
/// The exactly-once state of the stateful audit forms: how many records of the partition it has
/// counted and the sum of their offsets. On a topic whose partitions start at offset 0, a state
/// that has applied every record up to offset N once is <c>N + 1</c> and <c>N(N + 1)/2</c>: a record
/// applied twice or never shows in both.
/// </summary>
public sealed class AuditState
{
    /// <summary>Records applied.</summary>
    public long Count { get; set; }

    /// <summary>The sum of the offsets of the records applied.</summary>
    public long OffsetSum { get; set; }

    /// <summary>Applies one record.</summary>
    public void Apply(long offset)
    {
        Count++;
        OffsetSum += offset;
    }

    /// <summary>As the end events carry it: <c>&lt;count&gt;:&lt;offset sum&gt;</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Count}:{OffsetSum}");
}
