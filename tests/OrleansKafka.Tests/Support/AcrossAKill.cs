using OrleansKafka.Testing;

namespace OrleansKafka.Tests.Support;

/// <summary>
/// Polls the cluster right after a silo was killed. A call in flight through the killed silo
/// (the client's gateway there, or the route its answer takes back) is lost, and the client
/// learns it only at its 30 s response timeout; calls sent before the client drops that gateway
/// fail outright. Each try here gets its own short deadline and such a failure counts as "not
/// yet"; if the condition never held and the last try failed, that failure is thrown.
/// </summary>
internal static class AcrossAKill
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        Exception? last = null;
        var held = await Poll.UntilAsync(
            async () =>
            {
                try
                {
                    last = null;
                    return await condition().WaitAsync(CallTimeout);
                }
                catch (Exception e) when (e is TimeoutException or OrleansException)
                {
                    last = e;
                    return false;
                }
            },
            timeout);
        return held || last is null ? held : throw new TimeoutException($"The condition did not hold within {timeout}; its last try failed.", last);
    }
}
