using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Orleans.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansKafka.Hosting;
using OrleansKafka.Kafka;
using OrleansKafka.Partitions;
using OrleansKafka.Silo;
using OrleansKafka.Silo.Audit;
using OrleansKafka.Silo.Clustering;
using OrleansKafka.Silo.Demo;
using OrleansKafka.Silo.Inspection;

// The content root is the program's folder, so appsettings.json is found from any working directory.
if (args.Length > 0 && args[0] == "kafka")
{
    // Host only the embedded Kafka cluster, so that silo processes can come and go around it.
    return await EmbeddedKafkaHost.RunAsync(args[1..]);
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
SiloClusteringSettings clustering;
try
{
    clustering = SiloClusteringSettings.Read(builder.Configuration);
    await ClusteringSetup.CheckStoreAsync(clustering, CancellationToken.None);
}
catch (ClusteringConfigurationException e)
{
    await Console.Error.WriteLineAsync($"Start-up failed: {e.Message}");
    return 2;
}

var urls = builder.Configuration.GetValue("Dashboard:Urls", "http://127.0.0.1:8080")!;
builder.WebHost.UseUrls(urls);

builder.Services.AddOptions<DemoOptions>().Bind(builder.Configuration.GetSection("Demo"))
    .Validate(o => !o.Enabled || o.RecordsPerSecond > 0, "Demo:RecordsPerSecond must be 1 or more when Demo:Enabled is true.")
    .ValidateOnStart();
builder.Services.AddHostedService<DemoTrafficProducer>();
builder.Services.AddHostedService<ForwardProducerWarmup>();
builder.Services.AddSingleton(sp => new ProducerBuilder<byte[], byte[]>(
    sp.GetRequiredService<IKafkaConnection>().ClientSettings(new Dictionary<string, string> { ["linger.ms"] = "5" })).Build());
builder.Services.AddOptions<AuditOptions>().Bind(builder.Configuration.GetSection("Audit"));
builder.Services.AddSingleton<AuditLog>();

builder.UseOrleans(silo =>
{
    ClusteringSetup.Configure(silo, clustering, builder.Configuration);
    silo.AddDashboard();
    silo.AddKafkaProcessing(builder.Configuration.GetSection("Kafka"))
        .AddProcessor<OrderTotalsProcessor>("order-totals")
        .AddProcessor<ForwardingProcessor>("forwarder")
        .AddProcessor<AuditProcessor>("audit", audit =>
        {
            // Start-up validation refuses a registered processor with no Kafka:Processors entry.
            // The audit processor is only for the chaos harness, which configures it; left
            // unconfigured it is off instead, so appsettings.json need not mention it.
            if (audit.Topic is null && audit.Group is null)
            {
                audit.Enabled = false;
            }
        });
});

// Enums in the JSON API are names ("Idle"), not numbers.
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));

var app = builder.Build();
app.MapOrleansDashboard(routePrefix: "/dashboard");
app.MapGet("/", () => Results.Redirect("/kafka"));
app.MapKafkaPage(new ActionAccess(builder.Configuration.GetValue<string>(ActionAccess.TokenSetting), urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
await app.RunAsync();
return 0;
