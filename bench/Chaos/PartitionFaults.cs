using System.Diagnostics;
using System.Globalization;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Bench.Chaos;

/// <summary>
/// The faults of <c>chaos --mode partition</c>: a real network partition on one machine. The
/// harness runs itself again in a private network namespace (<c>unshare --net</c>), where the
/// store, Kafka and every silo live on a loopback of their own; each silo runs under a user id of
/// its own, and iptables' owner match drops the TCP traffic between the silo that hosts the lease
/// grain and the other silos (and, every other round, the store too), while Kafka stays reachable.
/// The rules live and die with the namespace: nothing outside it is touched.
/// </summary>
internal static class PartitionFaults
{
    /// <summary>Set in the namespace's copy of the harness.</summary>
    public const string NamespaceVariable = "ORLEANSKAFKA_CHAOS_NETNS";

    /// <summary>The user id of the first silo; silo <c>n</c> runs as <c>FirstSiloUid + n</c>.</summary>
    public const int FirstSiloUid = 20000;

    public static bool InNamespace => Environment.GetEnvironmentVariable(NamespaceVariable) == "1";

    /// <summary>What this machine lacks for the mode, or null when it has it all.</summary>
    public static string? Missing()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "chaos --mode partition needs Linux and root: it makes a network namespace, runs each silo under a user id of its own and sets iptables rules in the namespace.";
        }

        var tools = new[] { "unshare", "setpriv", "ip", "iptables" }.Where(t => !OnPath(t)).ToList();
        return tools.Count == 0
            ? null
            : $"chaos --mode partition needs {string.Join(", ", tools)} on PATH; on Debian: apt-get install -y {(tools.Contains("iptables") ? "iptables " : string.Empty)}util-linux iproute2.";
    }

    /// <summary>Runs this harness again, with the same arguments, in a new network namespace whose loopback is up; returns its exit code.</summary>
    public static async Task<int> RunInNamespaceAsync()
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("The harness's own executable is not known.");
        var args = Environment.GetCommandLineArgs();

        // Under 'dotnet bench.dll' the first argument is the assembly, which dotnet needs again;
        // under the apphost it is the program itself.
        var command = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [self, .. args] : new[] { self }.Concat(args[1..]).ToArray();
        // Killed with this harness (a parent-death signal; this runs on the main thread, which
        // lives as long as the harness), so that a killed run leaves no harness and cluster behind.
        var info = new ProcessStartInfo("setpriv", ["--pdeathsig", "KILL", "--", "unshare", "--net", "--", "sh", "-c", "ip link set lo up && exec \"$@\"", "sh", .. command]) { UseShellExecute = false };
        info.Environment[NamespaceVariable] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("unshare did not start.");
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>
    /// Cuts <paramref name="victim"/> off from <paramref name="others"/> (both ways), and from the
    /// store when <paramref name="cutStore"/>; Kafka stays reachable. Returns what was done.
    /// </summary>
    public static async Task<string> CutAsync(SiloProcess victim, IReadOnlyList<SiloProcess> others, SiloProcessCluster cluster, bool cutStore)
    {
        var kafka = Ports(cluster.BootstrapServers);
        var store = cluster.StoreSettings.TryGetValue("Silo__Redis", out var redis) ? Ports(redis) : throw new InvalidOperationException("The partition mode expects the Redis store.");
        var allowed = cutStore ? kafka : [.. kafka, .. store];

        // The victim's packets to anything but Kafka (and the store) are dropped: its connections
        // to the other silos, and its answers on theirs to it.
        await IptablesAsync("-A", "OUTPUT", "-p", "tcp", "-m", "owner", "--uid-owner", Uid(victim), "-m", "multiport", "!", "--dports", string.Join(',', allowed), "-j", "DROP");

        // And the others' packets to its ports, so that no request of theirs reaches it one way.
        var victimPorts = string.Join(',', new[] { Port(victim.Endpoint), victim.GatewayPort.ToString(CultureInfo.InvariantCulture) });
        foreach (var other in others)
        {
            await IptablesAsync("-A", "OUTPUT", "-p", "tcp", "-m", "owner", "--uid-owner", Uid(other), "-m", "multiport", "--dports", victimPorts, "-j", "DROP");
        }

        return $"cut {victim.Name} ({victim.Endpoint}) off from {string.Join(", ", others.Select(o => o.Name))}{(cutStore ? " and from the store" : ", the store still reachable")}; Kafka reachable";
    }

    /// <summary>Drops every rule: the partition heals.</summary>
    public static Task HealAsync() => IptablesAsync("-F", "OUTPUT");

    private static string Uid(SiloProcess silo) => (silo.Uid ?? throw new InvalidOperationException($"{silo.Name} runs under no user id of its own.")).ToString(CultureInfo.InvariantCulture);

    private static string Port(string endpoint) => endpoint[(endpoint.LastIndexOf(':') + 1)..];

    private static string[] Ports(string endpoints) =>
        [.. endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Port)];

    private static async Task IptablesAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("iptables", arguments) { UseShellExecute = false, RedirectStandardError = true };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("iptables did not start.");
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"iptables {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {error.Trim()}");
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/sbin", "/sbin"]).Any(d => File.Exists(Path.Combine(d, tool)));
}
