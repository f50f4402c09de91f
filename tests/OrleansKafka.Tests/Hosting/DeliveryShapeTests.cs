using OrleansKafka.Configuration;
using OrleansKafka.Hosting;
using OrleansKafka.Processing;

namespace OrleansKafka.Tests.Hosting;

/// <summary>
/// How large a topic's deliveries may grow: key-ordered processors send a key's records of a
/// delivery to its grain in one call, so theirs may hold more records than a plain or batch
/// processor's (<see cref="KafkaProcessingOptions.MaxKeyOrderedBatchSize"/>).
/// </summary>
public sealed class DeliveryShapeTests
{
    private static readonly KafkaProcessingOptions Options = new() { MaxBatchSize = 500, MaxKeyOrderedBatchSize = 3000 };

    [Fact]
    public void KeyGrainsAndStreams_TakeTheKeyOrderedSize_AsWholeDeliveries()
    {
        var shape = KafkaProcessingService.DeliveryShapeOf([Binding("orders", sendsToGrains: true)], "orders", Options);

        Assert.Equal(3000, shape.MaxRecords);
        Assert.True(shape.Whole);
    }

    [Fact]
    public void ARecordProcessorInKeyOrder_TakesTheKeyOrderedSize()
    {
        var shape = KafkaProcessingService.DeliveryShapeOf([Binding("orders", order: ProcessingOrder.Key)], "orders", Options);

        Assert.Equal(3000, shape.MaxRecords);
        Assert.True(shape.Whole);
    }

    [Fact]
    public void ABatchProcessor_KeepsMaxBatchSize_ItsLargestBatch_EvenInKeyOrder()
    {
        var shape = KafkaProcessingService.DeliveryShapeOf([Binding("orders", order: ProcessingOrder.Key, batch: true)], "orders", Options);

        Assert.Equal(500, shape.MaxRecords);
        Assert.True(shape.Whole);
    }

    [Fact]
    public void ARecordProcessorInPartitionOrder_TakesMaxBatchSize_ReadInPlace()
    {
        var bindings = new[] { Binding("orders"), Binding("payments", sendsToGrains: true) };

        var shape = KafkaProcessingService.DeliveryShapeOf(bindings, "orders", Options);

        Assert.Equal(500, shape.MaxRecords);
        Assert.False(shape.Whole);
    }

    private static ProcessorBinding Binding(string topic, ProcessingOrder order = ProcessingOrder.Partition, bool batch = false, bool sendsToGrains = false) => new(
        new ProcessorRegistration($"{topic}-processor", typeof(object), typeof(byte[]), typeof(byte[]), (_, _) => throw new NotSupportedException("no pipeline in this test"))
        {
            IsBatch = batch,
            SendsToGrains = sendsToGrains,
        },
        new ProcessorOptions { Topic = topic, Group = "billing", Order = order });
}
