using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Dashboard;
using OrleansKafka.AspNetCore;
using OrleansKafka.Hosting;
using OrleansKafka.Kafka;
using OrleansKafka.Silo;
using OrleansKafka.Silo.Audit;
using OrleansKafka.Silo.Clustering;
using OrleansKafka.Silo.Demo;
using OrleansKafka.Silo.Lifetime;
using OrleansKafka.Silo.Settings;
using OrleansKafka.Silo.Skew;
using OrleansKafka.Silo.Telemetry;

// The content root is the program's folder, so appsettings.json is found from any working directory.
if (args.Length > 0 && args[0] == "kafka")
{
    // Host only the embedded Kafka cluster, so that silo processes can come and go around it.
    return await EmbeddedKafkaHost.RunAsync(args[1..]);
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// Secrets as files (a Kubernetes Secret mounted as a volume): one file per setting, named as its
// environment variable would be (Dashboard__Token). Read after the environment, so they win.
builder.Configuration.AddKeyPerFile(SecretFiles.Directory(builder.Configuration), optional: true);
var problems = KnownSettings.Problems(builder.Configuration);
if (problems.Count > 0)
{
    await Console.Error.WriteLineAsync($"Start-up failed: {string.Join(" ", problems)}");
    return 2;
}

SiloClusteringSettings clustering;
TelemetryOptions telemetry;
try
{
    telemetry = TelemetrySetup.Read(builder.Configuration);
    clustering = SiloClusteringSettings.Read(builder.Configuration);
    await ClusteringSetup.CheckStoreAsync(clustering, CancellationToken.None);
}
catch (Exception e) when (e is ClusteringConfigurationException or ArgumentException)
{
    await Console.Error.WriteLineAsync($"Start-up failed: {e.Message}");
    return 2;
}

WebUrls urls;
try
{
    urls = WebUrls.Read(builder.Configuration);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"Start-up failed: {e.Message}");
    return 2;
}

builder.WebHost.UseUrls(urls.Value);
if (urls.LoopbackOnly && builder.Configuration["AllowedHosts"] is null)
{
    // Listening on loopback alone, the host answers only loopback names: a page of another site
    // whose name a DNS rebinding points at 127.0.0.1 is refused (400) instead of reaching the API.
    builder.Configuration.AddInMemoryCollection([new("AllowedHosts", "localhost;127.0.0.1;[::1]")]);
}

builder.Services.AddOptions<DemoOptions>().Bind(builder.Configuration.GetSection("Demo"))
    .Validate(o => !o.Enabled || o.RecordsPerSecond > 0, "Demo:RecordsPerSecond is less than 1; expected 1 or more records a second when Demo:Enabled is true.")
    .ValidateOnStart();
builder.Services.AddHostedService<DemoTrafficProducer>();
builder.Services.AddHostedService<ForwardProducerWarmup>();
builder.Services.AddSingleton(sp => new ProducerBuilder<byte[], byte[]>(
    sp.GetRequiredService<IKafkaConnection>().ClientSettings(new Dictionary<string, string> { ["linger.ms"] = "5" })).Build());
builder.Services.AddOptions<AuditOptions>().Bind(builder.Configuration.GetSection("Audit"));
builder.Services.AddSingleton<AuditLog>();
builder.Services.AddOptions<SkewOptions>().Bind(builder.Configuration.GetSection("Skew"));
builder.Services.AddSingleton<SkewSlots>();
builder.Services.AddOrleansKafkaEndpoints(builder.Configuration.GetSection("Dashboard"));
builder.Services.AddSiloTelemetry(telemetry, $"{clustering.AdvertisedAddress}:{clustering.SiloPort}");

builder.UseOrleans(silo =>
{
    ClusteringSetup.Configure(silo, clustering, builder.Configuration);
    // The dashboard's live trace shows every grain call's arguments: off unless Dashboard:Trace is true.
    // Its counters are sampled every 10 s rather than every second: a sample reads Orleans' gauges,
    // one of which walks every activation, and with key grains that took a tenth of a core per
    // silo (docs/benchmarks.md, handoff).
    silo.AddDashboard(o =>
    {
        o.HideTrace = !builder.Configuration.GetValue("Dashboard:Trace", false);
        o.CounterUpdateIntervalMs = builder.Configuration.GetValue("Dashboard:CounterUpdateIntervalMs", 10_000);
    });
    silo.AddKafkaProcessing(builder.Configuration.GetSection("Kafka"))
        .AddProcessor<OrderTotalsProcessor>("order-totals")
        .AddKeyGrain<ICustomerTotalsGrain>("customer-totals")
        .AddKafkaStreams<byte[]>(StreamForwarderGrain.Provider)
        .AddProcessor<ForwardingProcessor>("forwarder")
        .AddAuditProcessors()
        .AddProcessor<SkewProcessor>("skew", AuditSetup.OffUnlessConfigured);
});

var app = builder.Build();
try
{
    app.MapOrleansDashboard(routePrefix: "/dashboard").RequireAuthorization(OrleansKafkaEndpointOptions.ReadsPolicyName);
    app.MapGet("/", () => Results.Redirect("/kafka"));
    app.MapOrleansKafkaHealthChecks();
    app.MapSiloTelemetry(telemetry);
    app.MapOrleansKafka();
    await app.StartAsync();
}
catch (Exception e)
{
    // A bad setting, an unreachable Kafka, a port in use: one line naming the cause, exit code 2.
    await Console.Error.WriteLineAsync($"Start-up failed: {StartupFailure.Describe(e)}");
    await app.DisposeAsync();
    return 2;
}

return await BoundedShutdown.RunAsync(app);
