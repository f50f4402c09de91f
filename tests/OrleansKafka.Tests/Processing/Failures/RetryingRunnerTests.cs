using Confluent.Kafka;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.Configuration;
using OrleansKafka.Processing;
using OrleansKafka.Processing.Failures;
using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Processing.Failures;

public sealed class RetryingRunnerTests
{
    private static readonly ConsumeResult<byte[], byte[]>[] OneRecord =
    [
        new() { Topic = "t", Partition = 0, Offset = 7, Message = new Message<byte[], byte[]> { Key = [1], Value = [1, 2, 3] } },
    ];

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task RunAsync_AlwaysFailing_TriesMaxAttemptsTimes_WaitingOnTheClockBetweenThem_ThenReportsTheFailure()
    {
        var pipeline = new FailingPipeline(new TimeoutException("downstream timed out"));
        var retries = new List<int>();
        var runner = new RetryingRunner(pipeline, Options(maxAttempts: 4), _time, (_, attempt) => retries.Add(attempt));

        var run = runner.RunAsync(OneRecord, 0, 1, epoch: 1, CancellationToken.None);

        // The first attempt runs at once; the next waits for the backoff on the fake clock.
        Assert.True(await Poll.UntilAsync(() => pipeline.Calls == 1, TimeSpan.FromSeconds(5)));
        Assert.False(await Poll.UntilAsync(() => pipeline.Calls > 1, TimeSpan.FromMilliseconds(200)), "retried without waiting for the backoff");
        Assert.True(await Poll.UntilAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(100));
                return run.IsCompleted;
            },
            TimeSpan.FromSeconds(10)));

        var failure = await run;
        Assert.NotNull(failure);
        Assert.Equal(4, pipeline.Calls);
        Assert.Equal(4, failure.Attempts);
        Assert.Equal([1, 2, 3], retries);
        Assert.IsType<TimeoutException>(failure.Error);
        Assert.False(failure.Unprocessable);
    }

    [Fact]
    public async Task RunAsync_RecordThatCannotSucceed_IsTriedOnce()
    {
        var pipeline = new FailingPipeline(new UnprocessableRecordException("the value does not deserialize"));
        var runner = new RetryingRunner(pipeline, Options(maxAttempts: 4), _time, (_, _) => { });

        var failure = await runner.RunAsync(OneRecord, 0, 1, epoch: 1, CancellationToken.None);

        Assert.Equal(1, pipeline.Calls);
        Assert.True(failure!.Unprocessable);
        Assert.Equal(1, failure.Attempts);
    }

    [Fact]
    public async Task RunAsync_RecordOverMaxRecordBytes_IsNotProcessedAndNamesTheLimit()
    {
        var pipeline = new FailingPipeline(null);
        var options = Options(maxAttempts: 4);
        options.MaxRecordBytes = 3;
        var runner = new RetryingRunner(pipeline, options, _time, (_, _) => { });

        var failure = await runner.RunAsync(OneRecord, 0, 1, epoch: 1, CancellationToken.None);

        Assert.Equal(0, pipeline.Calls);
        Assert.True(failure!.Unprocessable);
        Assert.Contains("t/0 offset 7 has 4 bytes of key and value, over the processor's MaxRecordBytes (3)", failure.Error.Message);
    }

    private static ProcessorOptions Options(int maxAttempts) => new()
    {
        Topic = "t",
        Group = "g",
        MaxAttempts = maxAttempts,
        FirstRetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
    };

    /// <summary>A processor that throws <paramref name="error"/> on every call (succeeds when it is null), counting calls.</summary>
    private sealed class FailingPipeline(Exception? error) : ProcessorPipeline
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override int UnitLength(int remaining) => 1;

        public override ValueTask InvokeAsync(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, int index, int count, long epoch, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return error is null ? ValueTask.CompletedTask : ValueTask.FromException(error);
        }
    }
}
