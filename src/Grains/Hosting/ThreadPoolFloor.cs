using Microsoft.Extensions.Logging;

namespace OrleansKafka.Hosting;

/// <summary>
/// Raises the .NET thread pool's minimum of worker threads to <see cref="Configuration.KafkaProcessingOptions.MinThreadPoolThreads"/>.
/// </summary>
/// <remarks>
/// While every core is busy, the pool keeps about one running thread per core, however long its
/// queue. On a silo those threads share the cores with the Kafka clients' threads (a fetch thread
/// and a thread per broker for each fetch consumer), so the pool gets a small share of the CPU,
/// and a lease renewal, which takes a few pool hops on both silos, waits behind processing long
/// enough for leases to run out. Threads kept ready let the renewal's turn come in time
/// (docs/benchmarks.md, three silos).
/// </remarks>
internal static partial class ThreadPoolFloor
{
    /// <summary>Raises the minimum to <paramref name="minimum"/> if it is lower; 0 does nothing.</summary>
    /// <returns>The minimum before, when it was raised; else null.</returns>
    public static int? Raise(int minimum, ILogger logger)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (minimum <= 0 || workers >= minimum)
        {
            return null;
        }

        if (!ThreadPool.SetMinThreads(minimum, completionPorts))
        {
            ThreadPool.GetMaxThreads(out var maximum, out _);
            LogRefused(logger, minimum, maximum);
            return null;
        }

        LogRaised(logger, workers, minimum);
        return workers;
    }

    [LoggerMessage(EventId = 5021, Level = LogLevel.Information, Message = "Thread pool: at least {Minimum} worker threads ready (was {Before}), so that lease renewals do not wait behind processing; Kafka:MinThreadPoolThreads sets it, 0 leaves the pool alone")]
    private static partial void LogRaised(ILogger logger, int before, int minimum);

    [LoggerMessage(EventId = 5022, Level = LogLevel.Warning, Message = "Thread pool: could not keep {Minimum} worker threads ready (the pool's maximum is {Maximum}); lease renewals may wait behind processing. Lower Kafka:MinThreadPoolThreads or raise the maximum")]
    private static partial void LogRefused(ILogger logger, int minimum, int maximum);
}
