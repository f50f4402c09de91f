using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OrleansKafka.LeaseProtocol;
using OrleansKafka.Leasing;
using OrleansKafka.Testing;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.LeaseAgents;

/// <summary>
/// When the lease grain's silo dies, its next activation comes up elsewhere within about a
/// second, and the other silos' leases run out a lease after their last renewal: their heartbeats
/// must reach the new activation before then, not a renew interval later, and nothing else a beat
/// does may hold them up.
/// </summary>
[Trait("Category", "Kafka")]
public sealed class LeaseHeartbeatTests
{
    // Long enough that a beat at each tick alone is easy to tell from beats after each failure.
    private static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task AHeartbeatThatFails_IsFollowedByAnotherSoon_NotARenewIntervalLater()
    {
        var calls = new LeaseCalls();
        await using var cluster = await StartAsync(calls);

        calls.FailHeartbeats = true;
        var window = Stopwatch.StartNew();
        // The outage: longer than a renew interval, so that at least one tick's beat fails.
        await Task.Delay(RenewInterval + TimeSpan.FromSeconds(0.5));
        calls.FailHeartbeats = false;
        var attempts = calls.Failed;
        window.Stop();

        // After the first failure, one every 100 ms or so: five or more. At the ticks alone (every
        // 2 s), two at most.
        Assert.True(attempts >= 4, $"{attempts} heartbeats were tried in {window.Elapsed.TotalSeconds:0.0} s while they failed; expected one about every 100 ms after each failure, not one a renew interval ({RenewInterval.TotalSeconds:0} s)");

        // And the first after the failures end is answered soon, not at the next tick.
        var answered = calls.Answered;
        Assert.True(await Poll.UntilAsync(() => calls.Answered > answered, TimeSpan.FromSeconds(1)), "no heartbeat was answered within 1 s after they stopped failing");
    }

    [Fact]
    public async Task TheCatalogGrainIsSlowToAnswer_HeartbeatsStillReachTheLeaseGrain()
    {
        // Each beat also registers the silo with the catalog grain. When the catalog's silo dies,
        // reaching it again can take as long as the lease grain does; a beat that waited for it
        // before sending the heartbeat timed out without renewing anything.
        var calls = new LeaseCalls();
        await using var cluster = await StartAsync(calls);

        calls.CatalogDelay = TimeSpan.FromSeconds(5);
        var answered = calls.Answered;
        var reached = await Poll.UntilAsync(() => calls.Answered >= answered + 2, TimeSpan.FromSeconds(6));
        calls.CatalogDelay = TimeSpan.Zero;

        Assert.True(reached, $"{calls.Answered - answered} heartbeat(s) were answered in 6 s while the catalog grain took 5 s to take a registration; expected one every renew interval ({RenewInterval.TotalSeconds:0} s)");
    }

    [Fact]
    public async Task UntilTheSiloHasStarted_ItsHeartbeatsComeFromAStandby_ThenWithItsWeight()
    {
        // The first heartbeat is part of the silo's start, before its host has started: a silo
        // joining a running cluster takes no partitions while it is still starting (alone, as
        // here, a standby is given them all the same).
        var calls = new LeaseCalls();
        await using var cluster = await StartAsync(calls);

        Assert.True(
            await Poll.UntilAsync(() => calls.Weights.Contains(1), TimeSpan.FromSeconds(15)),
            $"weights sent: {string.Join(", ", calls.Weights)}; expected 1 once the host had started and three heartbeats were answered on time");
        var weights = calls.Weights.ToArray();
        Assert.Equal(0, weights[0]);
        Assert.DoesNotContain(0, weights.SkipWhile(w => w == 0));
    }

    private static async Task<KafkaTestCluster> StartAsync(LeaseCalls calls)
    {
        var cluster = await KafkaTestCluster.StartAsync(o =>
        {
            o.Topics["orders"] = 2;
            o.Services = s => s.AddSingleton<IOutgoingGrainCallFilter>(calls).AddSingleton(new RecordLog());
            o.Configure = k =>
            {
                k.LeaseDuration = TimeSpan.FromSeconds(10);
                k.LeaseRenewInterval = RenewInterval;
            };
            o.Processors = p => p.AddProcessor<RecordingProcessor>("recorder", x => { x.Topic = "orders"; x.Group = "billing"; });
        });
        var lease = cluster.Client.GetGrain<IPartitionLeaseGrain>("billing");
        Assert.True(await Poll.UntilAsync(async () => (await lease.GetAssignmentsAsync()).All(a => a.Owner is not null), TimeSpan.FromSeconds(30)));
        return cluster;
    }

    /// <summary>Counts the silo's heartbeats to the lease grain, and fails them or slows its catalog registrations on demand.</summary>
    private sealed class LeaseCalls : IOutgoingGrainCallFilter
    {
        private int _failed;
        private int _answered;

        public volatile bool FailHeartbeats;

        public TimeSpan CatalogDelay { get; set; }

        public int Failed => Volatile.Read(ref _failed);

        public int Answered => Volatile.Read(ref _answered);

        /// <summary>The weight of each heartbeat sent, in order.</summary>
        public ConcurrentQueue<int> Weights { get; } = new();

        public async Task Invoke(IOutgoingGrainCallContext context)
        {
            var method = context.InterfaceMethod;
            if (method?.DeclaringType == typeof(ICatalogProtocolGrain) && CatalogDelay > TimeSpan.Zero)
            {
                await Task.Delay(CatalogDelay);
            }

            var heartbeat = method?.DeclaringType == typeof(ILeaseProtocolGrain) && method.Name == nameof(ILeaseProtocolGrain.HeartbeatAsync);
            if (heartbeat)
            {
                Weights.Enqueue(((SiloHeartbeat)context.Request.GetArgument(0)!).Weight);
            }

            if (heartbeat && FailHeartbeats)
            {
                Interlocked.Increment(ref _failed);
                throw new InvalidOperationException("The lease grain's silo is unreachable (a test's failure).");
            }

            await context.Invoke();
            if (heartbeat)
            {
                Interlocked.Increment(ref _answered);
            }
        }
    }
}
