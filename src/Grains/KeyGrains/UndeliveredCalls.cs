using Polly;
using Polly.Retry;

namespace OrleansKafka.KeyGrains;

/// <summary>
/// Grain calls the cluster could not deliver (the grain's silo died or is unreachable and Orleans
/// has not yet moved the grain, or it has just stood still and not yet confirmed it is a member): sent again until answered or the lease ends. Such a call is not
/// the record's failure and does not count toward the failure policy.
/// </summary>
internal static class UndeliveredCalls
{
    /// <summary>
    /// Runs <paramref name="call"/>; when the cluster could not deliver it, sends it again through
    /// <paramref name="retry"/> (<see cref="Retry"/>). The first try goes straight
    /// to the grain: most calls are delivered, and the retry pipeline costs a closure per call.
    /// </summary>
    public static async Task CallAsync<TState>(ResiliencePipeline retry, Func<TState, Task> call, TState state, CancellationToken cancellationToken)
    {
        try
        {
            await call(state).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is SiloUnavailableException or OrleansMessageRejectionException or SiloStalledException)
        {
            await retry.ExecuteAsync(async (s, token) => await call(s).WaitAsync(token), state, cancellationToken);
        }
    }

    /// <summary>As <see cref="CallAsync{TState}"/>, for a call with a result.</summary>
    public static async Task<TResult> CallAsync<TState, TResult>(ResiliencePipeline retry, Func<TState, Task<TResult>> call, TState state, CancellationToken cancellationToken)
    {
        try
        {
            return await call(state).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is SiloUnavailableException or OrleansMessageRejectionException or SiloStalledException)
        {
            return await retry.ExecuteAsync(async (s, token) => await call(s).WaitAsync(token), state, cancellationToken);
        }
    }

    /// <summary>
    /// Sends a call again while the cluster cannot deliver it (the grain's silo died or is
    /// unreachable and Orleans has not yet moved the grain), backing off up to 1 s, until the
    /// token fires. Such a call is not the record's failure.
    /// </summary>
    public static ResiliencePipeline Retry(TimeProvider time) => new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<SiloUnavailableException>().Handle<OrleansMessageRejectionException>().Handle<SiloStalledException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(50),
            MaxDelay = TimeSpan.FromSeconds(1),
        })
        .Build();
}
