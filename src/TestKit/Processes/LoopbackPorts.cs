using System.Net;
using System.Net.Sockets;

namespace OrleansKafka.Testing.Processes;

/// <summary>
/// Free TCP ports on 127.0.0.1 for processes a test starts, picked at random from 22000-32000:
/// below Linux's ephemeral range (32768 and up), so that neither an outgoing connection's source
/// port nor a listener on port 0 (the embedded Kafka's brokers) can take one between the pick and
/// the process's bind. A port is handed out at most once per process.
/// </summary>
public static class LoopbackPorts
{
    private const int First = 22000;
    private const int Last = 32000;
    private static readonly HashSet<int> Given = [];

    /// <summary>Returns <paramref name="count"/> distinct ports that were free a moment ago and were not handed out before.</summary>
    public static int[] Free(int count)
    {
        var ports = new List<int>(count);
        lock (Given)
        {
            for (var tries = 0; ports.Count < count; tries++)
            {
                if (tries > 10_000)
                {
                    throw new InvalidOperationException($"No free port in {First}-{Last} on 127.0.0.1 after {tries} tries.");
                }

                var port = Random.Shared.Next(First, Last + 1);
                if (!Given.Contains(port) && IsFree(port))
                {
                    Given.Add(port);
                    ports.Add(port);
                }
            }
        }

        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
