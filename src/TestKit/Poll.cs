namespace OrleansKafka.Testing;

/// <summary>Waits for a condition by polling it, with a deadline instead of a sleep.</summary>
public static class Poll
{
    /// <summary>Polls <paramref name="condition"/> every <paramref name="interval"/> (default 50 ms) until it holds or <paramref name="timeout"/> passes.</summary>
    /// <returns>True when the condition held before the deadline.</returns>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        // Monotonic: a wall-clock step must not cut a wait short or stretch it.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) >= timeout)
            {
                return false;
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>Polls a synchronous condition.</summary>
    public static Task<bool> UntilAsync(Func<bool> condition, TimeSpan timeout, TimeSpan? interval = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, interval);
}
