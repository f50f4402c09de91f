using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using OrleansKafka.Testing;
using OrleansKafka.Testing.Processes;

namespace OrleansKafka.Tests.Packaging;

/// <summary>
/// The packages as a user gets them, with the README's commands: <c>dotnet pack</c> of the
/// solution (here on the build the test run made), a silo project of the user's own outside this
/// repository that adds the <c>OrleansKafka</c> package from that folder, and the CLI installed
/// as a .NET tool that talks to that silo.
/// </summary>
[Trait("Category", "Kafka")]
public sealed partial class PackageTests
{
    private const string Version = "0.1.0-preview.1";

    [Fact]
    public async Task ThePackages_GiveAUsersOwnSiloItsProcessors_AndTheCliAsATool()
    {
        var work = Directory.CreateTempSubdirectory("orleanskafka-packages-").FullName;
        try
        {
            var packages = Path.Combine(work, "packages");
            await RunAsync("pack", "dotnet", ["pack", Path.Combine(SiloHostAssembly.RepositoryRoot(), "OrleansKafka.sln"), "-c", Configuration(), "--no-build", "-o", packages], TimeSpan.FromMinutes(3));

            // What a user adds, and nothing of the repository's own hosts, benchmarks or tests.
            Assert.Equal(
                ["OrleansKafka", "OrleansKafka.Abstractions", "OrleansKafka.Cli", "OrleansKafka.TestKit"],
                Directory.GetFiles(packages, "*.nupkg").Select(f => Path.GetFileName(f).Replace($".{Version}.nupkg", string.Empty, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
            var nuspec = Nuspec(Path.Combine(packages, $"OrleansKafka.{Version}.nupkg"));
            Assert.Contains("AddKafkaProcessing", Element(nuspec, "description"));
            Assert.Equal("MIT", Element(nuspec, "license"));
            Assert.Equal("README.md", Element(nuspec, "readme"));
            Assert.True(File.Exists(Path.Combine(packages, $"OrleansKafka.{Version}.snupkg")), "no symbol package");

            // A user's silo, outside the repository (no Directory.Build.props or central versions).
            var app = Path.Combine(work, "user-silo");
            WriteUserSilo(app, packages);
            await RunAsync("build", "dotnet", ["build", app, "-c", "Release"], TimeSpan.FromMinutes(4));
            var ports = LoopbackPorts.Free(2);
            // Its own folder as content root: the test's folder has the demo host's appsettings.json.
            await using var silo = ChildProcess.Start("user-silo", "dotnet", [Path.Combine(app, "bin", "Release", "net10.0", "UserSilo.dll"), "--contentRoot", app], new Dictionary<string, string>
            {
                ["SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
                ["GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["Kafka__Embedded__Topics__orders"] = "2",
                ["Kafka__Processors__counting__Topic"] = "orders",
                ["Kafka__Processors__counting__Group"] = "counters",
            });
            var bootstrap = (await silo.WaitForOutputAsync(BootstrapLine(), TimeSpan.FromSeconds(60))).Groups[1].Value;
            using (var kafka = new KafkaInspector(bootstrap, new Dictionary<string, int> { ["orders"] = 2 }))
            {
                await kafka.ProduceAsync("orders", [("k", "first")], partition: 1);
            }

            await silo.WaitForOutputAsync(ProcessedLine(), TimeSpan.FromSeconds(60));

            // The CLI, installed as a tool, against that silo's gateway.
            var tools = Path.Combine(work, "tools");
            await RunAsync("tool install", "dotnet", ["tool", "install", "OrleansKafka.Cli", "--prerelease", "--tool-path", tools, "--add-source", packages], TimeSpan.FromMinutes(2));
            // Orleans' localhost clustering names cluster and service "default" (the CLI's defaults are the demo host's "dev").
            var status = await RunAsync("orleans-kafka status", Path.Combine(tools, "orleans-kafka"), ["status", "--gateway", $"127.0.0.1:{ports[1]}", "--cluster-id", "default", "--service-id", "default"], TimeSpan.FromMinutes(1));
            Assert.Contains(status, line => line.Contains("counters", StringComparison.Ordinal) && line.Contains("orders", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static void WriteUserSilo(string folder, string packages)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="orleanskafka" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(folder, "UserSilo.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="OrleansKafka" Version="{Version}" />
                <PackageReference Include="Microsoft.Orleans.Server" Version="10.4.2" />
                <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.5" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), """
            using Microsoft.Extensions.Configuration;
            using Microsoft.Extensions.Hosting;
            using Microsoft.Extensions.Logging;
            using OrleansKafka.Hosting;
            using OrleansKafka.Processing;

            var builder = Host.CreateApplicationBuilder(args);
            builder.UseOrleans(silo => silo
                .UseLocalhostClustering(builder.Configuration.GetValue<int>("SiloPort"), builder.Configuration.GetValue<int>("GatewayPort"))
                .AddKafkaProcessing(builder.Configuration.GetSection("Kafka"))
                .AddProcessor<CountingProcessor>("counting"));
            await builder.Build().RunAsync();

            public sealed class CountingProcessor(ILogger<CountingProcessor> logger) : IRecordProcessor<string, string>
            {
                public ValueTask ProcessAsync(KafkaRecord<string, string> record, CancellationToken cancellationToken)
                {
                    logger.LogInformation("processed {Topic}/{Partition} offset {Offset}: {Value}", record.Context.Topic, record.Context.Partition, record.Context.Offset, record.Value);
                    return ValueTask.CompletedTask;
                }
            }
            """);
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

    [GeneratedRegex(@"processed orders/1 offset 0: first")]
    private static partial Regex ProcessedLine();
}
