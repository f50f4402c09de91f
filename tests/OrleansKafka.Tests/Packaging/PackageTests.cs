using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;
using OrleansKafka.Tests.Support;

namespace OrleansKafka.Tests.Packaging;

/// <summary>
/// The packages as a user gets them, with the README's commands: <c>dotnet pack</c> of the
/// solution (here on the build the test run made), <c>samples/OrderSilo</c> copied outside this
/// repository and built from that folder of packages (a processor, a key grain and the Kafka
/// page of its own), and the CLI installed as a .NET tool that talks to that silo.
/// </summary>
[Trait("Category", "Kafka")]
public sealed partial class PackageTests
{
    [Fact]
    public async Task ThePackages_BuildTheSampleSilo_WhichProcessesRecordsAndServesThePage_AndTheCliInstallsAsATool()
    {
        var work = Directory.CreateTempSubdirectory("orleanskafka-packages-").FullName;
        // A version of this run's own: NuGet caches a package by id and version, and would give the
        // sample the one an earlier pack put in the machine's cache.
        var suffix = $"test{DateTime.UtcNow:yyyyMMddHHmmss}";
        var version = $"0.1.0-{suffix}";
        try
        {
            var packages = Path.Combine(work, "packages");
            await RunAsync("pack", "dotnet", ["pack", Path.Combine(SiloHostAssembly.RepositoryRoot(), "OrleansKafka.sln"), "-c", Configuration(), "--no-build", "-o", packages, $"-p:VersionSuffix={suffix}"], TimeSpan.FromMinutes(3));

            // What a user adds, and nothing of the repository's own hosts, benchmarks or tests.
            Assert.Equal(
                ["OrleansKafka", "OrleansKafka.Abstractions", "OrleansKafka.AspNetCore", "OrleansKafka.Cli", "OrleansKafka.TestKit"],
                Directory.GetFiles(packages, "*.nupkg").Select(f => Path.GetFileName(f).Replace($".{version}.nupkg", string.Empty, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
            var nuspec = Nuspec(Path.Combine(packages, $"OrleansKafka.{version}.nupkg"));
            Assert.Contains("AddKafkaProcessing", Element(nuspec, "description"));
            Assert.Equal("MIT", Element(nuspec, "license"));
            Assert.Equal("README.md", Element(nuspec, "readme"));
            Assert.True(File.Exists(Path.Combine(packages, $"OrleansKafka.AspNetCore.{version}.snupkg")), "no symbol package");
            Assert.StartsWith("# OrleansKafka.AspNetCore\n", Entry(Path.Combine(packages, $"OrleansKafka.AspNetCore.{version}.nupkg"), "README.md"));
            Assert.StartsWith("# OrleansKafka.Cli\n", Entry(Path.Combine(packages, $"OrleansKafka.Cli.{version}.nupkg"), "README.md"));

            // samples/OrderSilo as a user copies it: outside the repository, restored from that folder.
            var app = Path.Combine(work, "OrderSilo");
            CopySample(Path.Combine(SiloHostAssembly.RepositoryRoot(), "samples", "OrderSilo"), app);
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><add key="orleanskafka" value="{packages}" /></packageSources></configuration>
                """);
            await RunAsync("build", "dotnet", ["build", app, "-c", "Release", $"-p:OrleansKafkaVersion={version}"], TimeSpan.FromMinutes(4));
            var ports = LoopbackPorts.Free(3);
            var web = $"http://127.0.0.1:{ports[2]}";
            await using var silo = ChildProcess.Start("order-silo", "dotnet", [Path.Combine(app, "bin", "Release", "net10.0", "OrderSilo.dll"), "--contentRoot", app], new Dictionary<string, string>
            {
                ["Orleans__SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["Urls"] = web,
            });
            var bootstrap = (await silo.WaitForOutputAsync(BootstrapLine(), TimeSpan.FromSeconds(60))).Groups[1].Value;
            using (var kafka = new KafkaInspector(bootstrap, new Dictionary<string, int> { ["orders"] = 4 }))
            {
                await kafka.ProduceAsync("orders", [("customer-7", "first"), ("customer-7", "second")], partition: 1);
            }

            await silo.WaitForOutputAsync(ProcessedLine(), TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri(web) };
            Assert.True(
                await Poll.UntilAsync(async () => await http.GetStringAsync("/customers/customer-7") is var orders && orders.Contains("\"count\":2", StringComparison.Ordinal) && orders.Contains("second", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
                $"the customer's key grain did not count both orders:{Environment.NewLine}{silo.Tail()}");
            Assert.Contains("<title>Kafka partitions", await http.GetStringAsync("/kafka"));
            Assert.Contains("\"group\":\"customer-orders\"", await http.GetStringAsync("/kafka/partitions"));
            Assert.Contains("Healthy", await http.GetStringAsync("/health/ready"));

            // The CLI, installed as a tool, against that silo's gateway.
            var tools = Path.Combine(work, "tools");
            await RunAsync("tool install", "dotnet", ["tool", "install", "OrleansKafka.Cli", "--version", version, "--tool-path", tools, "--add-source", packages], TimeSpan.FromMinutes(2));
            // Orleans' localhost clustering names cluster and service "default" (the CLI's defaults are the demo host's "dev").
            var status = await RunAsync("orleans-kafka status", Path.Combine(tools, "orleans-kafka"), ["status", "--gateway", $"127.0.0.1:{ports[1]}", "--cluster-id", "default", "--service-id", "default"], TimeSpan.FromMinutes(1));
            Assert.Contains(status, line => line.Contains("order-log", StringComparison.Ordinal) && line.Contains("orders", StringComparison.Ordinal));

            // And against the README's demo silo, with the CLI's default ids.
            await using var demo = await SiloHost.StartAsync(new Dictionary<string, string> { ["Demo__Enabled"] = "false" });
            var demoStatus = await RunAsync("orleans-kafka status (demo silo)", Path.Combine(tools, "orleans-kafka"), ["status", "--gateway", demo.Gateway], TimeSpan.FromMinutes(1));
            Assert.Contains(demoStatus, line => line.Contains("demo-order-totals", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            ForgetCachedPackages(version);
        }
    }

    private static void CopySample(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar)[0] is "bin" or "obj")
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    /// <summary>Removes this run's packages from the machine's NuGet cache, where restoring put them.</summary>
    private static void ForgetCachedPackages(string version)
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in Directory.Exists(cache) ? Directory.GetDirectories(cache, "orleanskafka*") : [])
        {
            var folder = Path.Combine(package, version);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>Runs a command to its end; asserts it exited 0 and returns its output.</summary>
    private static async Task<IReadOnlyList<string>> RunAsync(string name, string fileName, string[] arguments, TimeSpan timeout)
    {
        // Builds here must not leave a build server running that holds the output open.
        await using var process = ChildProcess.Start(name, fileName, arguments, new Dictionary<string, string>
        {
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "false",
            ["UseSharedCompilation"] = "false",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        });
        var exitCode = await process.WaitForExitAsync(timeout);
        Assert.True(exitCode == 0, $"{name} exited with {exitCode}:{Environment.NewLine}{process.Tail(60)}");
        return [.. process.Output];
    }

    private static string Entry(string package, string name)
    {
        using var zip = ZipFile.OpenRead(package);
        using var reader = new StreamReader(zip.GetEntry(name)?.Open() ?? throw new InvalidDataException($"{package} has no {name}"));
        return reader.ReadToEnd();
    }

    private static XDocument Nuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }

    private static string Element(XDocument nuspec, string name) =>
        nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? throw new InvalidDataException($"the nuspec has no <{name}>");

    private static string Configuration() =>
        typeof(PackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    [GeneratedRegex("bootstrap servers: ([^;]+);")]
    private static partial Regex BootstrapLine();

    [GeneratedRegex(@"order orders/1@1 for customer customer-7")]
    private static partial Regex ProcessedLine();
}
