using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.Configuration;
using OrleansKafka.Hosting;
using OrleansKafka.Processing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Configuration;

public sealed class KafkaProcessingOptionsValidatorTests
{
    // Services without the processors' registrations: the checks that need them are tested on a cluster (StatefulProcessorTests, KeyGrainTests).
    private static readonly IServiceProvider NoServices = new ServiceCollection().BuildServiceProvider();

    private static readonly KafkaProcessingOptionsValidator Validator = new([ProcessorRegistration.ForProcessor("recorder", typeof(RecordingProcessor))], NoServices);

    [Fact]
    public void Validate_ValidOptions_Succeeds() => Assert.True(Validator.Validate(null, Valid()).Succeeded);

    [Fact]
    public void Validate_ZeroPartitions_NamesTheTopicSettingAndBound()
    {
        var options = Valid();
        options.Embedded.Topics["orders"] = 0;

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.Equal("Kafka:Embedded:Topics:orders is 0; expected a partition count of 1 or more.", failure);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1001)]
    public void Validate_SiloWeightOutOfRange_NamesTheSettingAndTheRange(int weight)
    {
        var options = Valid();
        options.SiloWeight = weight;

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.Equal($"Kafka:SiloWeight is {weight}; expected a whole number from 0 (a standby) to 1000.", failure);
    }

    [Fact]
    public void Validate_NegativeNativeHeapTrimInterval_NamesTheSettingAndHowToTurnItOff()
    {
        var options = Valid();
        options.NativeHeapTrimInterval = TimeSpan.FromSeconds(-1);

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.Equal("Kafka:NativeHeapTrimInterval is -00:00:01; expected a duration such as 00:00:01, or 00:00:00 to turn trimming off.", failure);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1025)]
    public void Validate_MinThreadPoolThreadsOutOfRange_NamesTheSettingAndTheRange(int threads)
    {
        var options = Valid();
        options.MinThreadPoolThreads = threads;

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.Equal($"Kafka:MinThreadPoolThreads is {threads}; expected a number of threads from 0 (leave the thread pool as it is) to 1024 (default 16).", failure);
    }

    [Theory]
    [InlineData("error")]
    [InlineData("none")]
    public void Validate_AutoOffsetResetThatIsNoStartPosition_NamesTheSettingAndOnOffsetReset(string value)
    {
        var options = Valid();
        options.Consumer["auto.offset.reset"] = value;

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.Equal($"Kafka:Consumer:auto.offset.reset is '{value}'; expected earliest or latest: where a partition with no committed offset starts. A committed offset Kafka no longer holds is handled by each processor's OnOffsetReset (Hold, Earliest or Latest).", failure);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("earliest", false)]
    [InlineData("smallest", false)]
    [InlineData("latest", true)]
    [InlineData("Largest", true)]
    public void FirstStart_FollowsAutoOffsetReset_TheBeginningByDefault(string? value, bool atEnd)
    {
        var options = Valid();
        if (value is not null)
        {
            options.Consumer["auto.offset.reset"] = value;
        }

        Assert.True(Validator.Validate(null, options).Succeeded);
        Assert.Equal(atEnd, KafkaProcessingService.FirstStartsAtEnd(options));
    }

    [Fact]
    public void Validate_UnregisteredProcessor_NamesItAndTheRegisteredOnes()
    {
        var options = Valid();
        options.Processors["payments"] = new ProcessorOptions { Topic = "p", Group = "g" };

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.Contains("Kafka:Processors:payments", failure);
        Assert.Contains("expected one of: recorder", failure);
    }

    [Fact]
    public void Validate_RegisteredProcessorWithoutTopicOrGroup_NamesBothSettings()
    {
        var options = Valid();
        options.Processors["recorder"] = new ProcessorOptions();

        var failures = Validator.Validate(null, options).Failures!.ToArray();

        Assert.Contains(failures, f => f.StartsWith("Kafka:Processors:recorder:Topic is empty", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Kafka:Processors:recorder:Group is empty", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(ProcessingOrder.Partition, DeliveryGuarantee.AtLeastOnce, "records are processed in partition order")]
    [InlineData(ProcessingOrder.Key, DeliveryGuarantee.AtMostOnce, "Delivery is AtMostOnce")]
    public void Validate_HoldKeyWhereNoKeyCanWaitAlone_NamesWhatIsExpected(ProcessingOrder order, DeliveryGuarantee delivery, string why)
    {
        var options = Valid();
        options.Processors["recorder"].OnFailure = FailureAction.HoldKey;
        options.Processors["recorder"].Order = order;
        options.Processors["recorder"].Delivery = delivery;

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.StartsWith("Kafka:Processors:recorder:OnFailure is HoldKey", failure, StringComparison.Ordinal);
        Assert.Contains(why, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_HoldKeyWithKeyOrder_AndNoRoomForWaitingRecords_NamesMaxWaitingRecords()
    {
        var options = Valid();
        options.Processors["recorder"].OnFailure = FailureAction.HoldKey;
        options.Processors["recorder"].Order = ProcessingOrder.Key;
        Assert.True(Validator.Validate(null, options).Succeeded);

        options.Processors["recorder"].MaxWaitingRecords = 0;
        Assert.Contains("Kafka:Processors:recorder:MaxWaitingRecords", Assert.Single(Validator.Validate(null, options).Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RenewIntervalTooCloseToLease_Fails()
    {
        var options = Valid();
        options.LeaseRenewInterval = TimeSpan.FromSeconds(6);

        var failure = Assert.Single(Validator.Validate(null, options).Failures!);

        Assert.Contains("Kafka:LeaseRenewInterval is 00:00:06", failure);
    }

    [Fact]
    public void Validate_NonPositiveNumbers_NameEachSetting()
    {
        var options = Valid();
        options.FetchConsumers = 0;
        options.MaxBatchSize = -1;
        options.MaxKeyOrderedBatchSize = 0;

        var failures = Validator.Validate(null, options).Failures!.ToArray();

        Assert.Contains("Kafka:FetchConsumers is 0; expected 1 or more.", failures);
        Assert.Contains("Kafka:MaxBatchSize is -1; expected 1 or more.", failures);
        Assert.Contains("Kafka:MaxKeyOrderedBatchSize is 0; expected 1 or more.", failures);
    }

    [Fact]
    public void Validate_TwoProcessorsOnOneTopicAndGroup_Fails()
    {
        var validator = new KafkaProcessingOptionsValidator([
            ProcessorRegistration.ForProcessor("a", typeof(RecordingProcessor)),
            ProcessorRegistration.ForProcessor("b", typeof(RecordingProcessor))], NoServices);
        var options = new KafkaProcessingOptions();
        options.Processors["a"] = new ProcessorOptions { Topic = "t", Group = "g" };
        options.Processors["b"] = new ProcessorOptions { Topic = "t", Group = "g" };

        var failure = Assert.Single(validator.Validate(null, options).Failures!);

        Assert.Contains("a and b all read topic 't' in consumer group 'g'", failure);
    }

    [Fact]
    public void ProcessorRegistration_TypeWithoutProcessorInterface_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => ProcessorRegistration.ForProcessor("x", typeof(string)));
        Assert.Contains("implements neither IRecordProcessor", error.Message);
    }

    private static KafkaProcessingOptions Valid()
    {
        var options = new KafkaProcessingOptions();
        options.Processors["recorder"] = new ProcessorOptions { Topic = "orders", Group = "billing" };
        return options;
    }
}
