namespace OrleansKafka.Silo.Demo;

/// <summary>The demo traffic: a producer feeding the demo topic. Bound from the <c>Demo</c> section.</summary>
public sealed class DemoOptions
{
    /// <summary>Produce demo records. Default false; the shipped appsettings.json turns it on.</summary>
    public bool Enabled { get; set; }

    /// <summary>The demo topic; the stream subscriber's namespace names it too.</summary>
    public const string DefaultTopic = "demo-orders";

    /// <summary>The topic the demo producer writes to.</summary>
    public string Topic { get; set; } = DefaultTopic;

    /// <summary>The topic the forwarding processor writes to.</summary>
    public string ForwardTo { get; set; } = "demo-orders-forwarded";

    /// <summary>The topic the implicit stream subscriber (<c>StreamForwarderGrain</c>) writes to.</summary>
    public string StreamedTo { get; set; } = "demo-orders-streamed";

    /// <summary>Records produced per second.</summary>
    public int RecordsPerSecond { get; set; } = 50;
}
