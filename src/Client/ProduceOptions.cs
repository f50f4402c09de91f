using System.Globalization;
using Confluent.Kafka;

namespace OrleansKafka.Cli;

/// <summary>
/// What the <c>produce</c> command writes, and where: <see cref="Count"/> records to
/// <see cref="Topic"/>, keyed <c>key-0</c> to <c>key-{KeyCount - 1}</c> round robin, each value a
/// JSON demo order (<c>orderId</c>, <c>customer</c>, <c>amount</c>, as the silo's <c>DemoOrder</c>)
/// padded to about <see cref="ValueSize"/> bytes.
/// </summary>
/// <param name="Topic">The topic; it must exist (the command never creates one).</param>
/// <param name="BootstrapServers">The Kafka brokers, host:port[,host:port...].</param>
/// <param name="Count">How many records, 1 or more.</param>
/// <param name="Rate">Records per second; 0 is as fast as Kafka takes them.</param>
/// <param name="KeyCount">How many distinct keys, 1 or more.</param>
/// <param name="ValueSize">Bytes of each value; a value is never shorter than its order.</param>
/// <param name="Json">One JSON object with the totals at the end instead of a progress bar.</param>
internal sealed record ProduceOptions(string Topic, string? BootstrapServers, int Count, double Rate, int KeyCount, int ValueSize, bool Json)
{
    /// <summary>The environment variable <c>--bootstrap-servers</c> defaults to.</summary>
    public const string BootstrapServersVariable = "KAFKA_BOOTSTRAP_SERVERS";

    /// <summary><c>,"pad":""}</c>: what padding adds to an order besides the padding itself.</summary>
    private const int PadOverhead = 10;

    /// <summary>Throws an <see cref="ArgumentException"/> that names the option when a value is out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException($"--bootstrap-servers (-b) is missing and {BootstrapServersVariable} is not set: give the Kafka brokers as host:port[,host:port...]. A silo on the embedded Kafka logs them as \"bootstrap servers: ...\".");
        }

        if (string.IsNullOrWhiteSpace(Topic))
        {
            throw new ArgumentException("The topic is empty; expected the name of an existing topic such as demo-orders.");
        }

        if (Count < 1)
        {
            throw new ArgumentException($"--count is {Count}; expected 1 or more records.");
        }

        if (!(Rate >= 0) || double.IsInfinity(Rate))
        {
            throw new ArgumentException($"--rate is {Rate.ToString(CultureInfo.InvariantCulture)}; expected records per second, or 0 for as fast as Kafka takes them.");
        }

        if (KeyCount < 1)
        {
            throw new ArgumentException($"--key-count is {KeyCount}; expected 1 or more distinct keys.");
        }

        if (ValueSize < 0)
        {
            throw new ArgumentException($"--value-size is {ValueSize}; expected 0 or more bytes.");
        }
    }

    /// <summary>Record <paramref name="sequence"/> (0-based): key <c>key-{sequence % KeyCount}</c>, value a demo order for that key.</summary>
    public Message<string, string> Record(long sequence)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"key-{sequence % KeyCount}");
        return new Message<string, string> { Key = key, Value = Order(sequence, key) };
    }

    /// <summary>
    /// <c>{"orderId":1,"customer":"key-0","amount":79.19,"pad":"xx..."}</c>: the property names and
    /// types of the silo's <c>DemoOrder</c> in System.Text.Json's web casing, so the demo's
    /// <c>order-totals</c> processor reads it; the <c>pad</c> property, which it ignores, makes the size.
    /// </summary>
    private string Order(long sequence, string key)
    {
        // A spread of amounts from 0.00 to 199.99, the same for the same sequence number.
        var amount = sequence * 7919 % 20_000 / 100m;
        var order = string.Create(CultureInfo.InvariantCulture, $"{{\"orderId\":{sequence + 1},\"customer\":\"{key}\",\"amount\":{amount:0.00}");
        var pad = ValueSize - order.Length - PadOverhead;
        return pad >= 0
            ? string.Concat(order, ",\"pad\":\"", new string('x', pad), "\"}")
            : order + "}";
    }
}
