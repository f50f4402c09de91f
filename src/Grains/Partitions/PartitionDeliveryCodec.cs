using System.Buffers;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;

namespace OrleansKafka.Partitions;

/// <summary>
/// Refuses to send a <see cref="PartitionDelivery"/> to another silo: deliveries hold
/// librdkafka's results by reference and are only ever meant for a grain on the fetching silo.
/// </summary>
/// <remarks>
/// Reaching this codec means a partition grain was activated away from its lease holder; the
/// feed logs the failure and resends once the grain is back where the lease is.
/// </remarks>
[RegisterSerializer]
internal sealed class PartitionDeliveryCodec : IFieldCodec<PartitionDelivery>
{
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, PartitionDelivery? value)
        where TBufferWriter : IBufferWriter<byte> =>
        throw new NotSupportedException("A partition delivery is never sent between silos; the partition grain is active away from the silo that holds its lease.");

    public PartitionDelivery ReadValue<TInput>(ref Reader<TInput> reader, Field field) =>
        throw new NotSupportedException("A partition delivery is never sent between silos.");
}
