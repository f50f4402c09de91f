using Microsoft.Extensions.Logging;

namespace OrleansKafka.Hosting;

/// <summary>
/// Raises the .NET thread pool's minimum of worker threads to <see cref="Configuration.KafkaProcessingOptions.MinThreadPoolThreads"/>.
/// </summary>
/// <remarks>
/// While every core is busy, the pool keeps about one running thread per core, however long its
/// queue. On a silo those threads share the cores with the Kafka clients' threads (a fetch thread
/// and a thread per broker for each fetch consumer), so the pool gets a small share of the CPU,
/// and a lease renewal, which takes a few pool hops on both silos, waited behind processing: in
/// the three-silo benchmark the renewal timer fired a second late with 15 to 40 items queued,
/// while a thread of its own was never more than 50 ms late (the process itself never stopped for
/// long: the pool's queue held the timer up). With 16 worker threads ready no tick was late.
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Thread pool: at least {Minimum} worker threads ready (was {Before}), so that lease renewals do not wait behind processing; Kafka:MinThreadPoolThreads sets it, 0 leaves the pool alone")]
    private static partial void LogRaised(ILogger logger, int before, int minimum);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Thread pool: could not keep {Minimum} worker threads ready (the pool's maximum is {Maximum}); lease renewals may wait behind processing. Lower Kafka:MinThreadPoolThreads or raise the maximum")]
    private static partial void LogRefused(ILogger logger, int minimum, int maximum);
}
