using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansKafka.LeaseAgents;

namespace OrleansKafka.Tests.LeaseAgents;

/// <summary>
/// A silo asks for its share of the partitions only once it has finished starting and its
/// heartbeats are answered on time; until then it is a standby (weight 0), which the lease grain
/// uses only when no other silo can take the partitions.
/// </summary>
public sealed class JoinReadinessTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void BeforeTheSiloHasStarted_ItIsAStandby_HoweverPunctualItsHeartbeats()
    {
        var readiness = New(weight: 3);

        for (var i = 0; i < 10; i++)
        {
            Answer(readiness, TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(0, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
        Assert.False(readiness.Joined);
    }

    [Fact]
    public void OnceStarted_ItTakesItsWeight_AfterThreeHeartbeatsInARowAnsweredWithinAQuarterOfALease()
    {
        var readiness = New(weight: 3);
        Assert.True(readiness.MarkReady());

        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));

        // A late answer (over half a second for a 2 s lease) starts the count again.
        Answer(readiness, TimeSpan.FromMilliseconds(600));
        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));

        Answer(readiness, TimeSpan.FromMilliseconds(500));
        Assert.Equal(3, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
        Assert.True(readiness.Joined);

        // Once joined it stays so, whatever its heartbeats do later.
        Answer(readiness, TimeSpan.FromSeconds(1.5));
        Assert.Equal(3, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
    }

    [Fact]
    public void HeartbeatsThatAreNeverOnTime_DoNotKeepAStartedSiloOutPastTheStartupTimeout()
    {
        var readiness = New(weight: 1);
        readiness.MarkReady();

        var waited = TimeSpan.Zero;
        while (waited < StartupTimeout - TimeSpan.FromSeconds(1))
        {
            Answer(readiness, TimeSpan.FromSeconds(1));
            waited += TimeSpan.FromSeconds(1);
            Assert.Equal(0, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
    }

    [Fact]
    public void ASiloConfiguredAsAStandby_StaysOne()
    {
        var readiness = New(weight: 0);
        readiness.MarkReady();
        for (var i = 0; i < 5; i++)
        {
            Answer(readiness, TimeSpan.FromMilliseconds(10));
        }

        _time.Advance(StartupTimeout);
        Assert.Equal(0, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
    }

    [Fact]
    public void AFailedHeartbeat_StartsTheCountAgain()
    {
        var readiness = New(weight: 1);
        readiness.MarkReady();

        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Answer(readiness, TimeSpan.FromMilliseconds(100));
        readiness.Missed();
        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));

        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Answer(readiness, TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
    }

    [Fact]
    public void ASiloGivenPartitionsWhileEverySiloWasStarting_KeepsThem_WithItsWeightAtOnce()
    {
        // Every live silo a standby: the lease grain shares the partitions among them. Reporting 0
        // on would let the first silo to finish starting take them all, and move them again as the
        // others finish.
        var readiness = New(weight: 2);

        Assert.Equal(2, readiness.Weight(_time.GetTimestamp(), holdsPartitions: true));
        Assert.True(readiness.Joined);
        Assert.Equal(2, readiness.Weight(_time.GetTimestamp(), holdsPartitions: false));
    }

    [Fact]
    public void MarkReady_CountsOnce()
    {
        var readiness = New(weight: 1);

        Assert.True(readiness.MarkReady());
        Assert.False(readiness.MarkReady());
    }

    private JoinReadiness New(int weight) => new("billing", weight, StartupTimeout, _time, NullLogger.Instance);

    private void Answer(JoinReadiness readiness, TimeSpan roundTrip)
    {
        var sentAt = _time.GetTimestamp();
        _time.Advance(roundTrip);
        readiness.Answered(sentAt, _time.GetTimestamp(), Lease);
    }
}
