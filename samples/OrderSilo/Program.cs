using OrderSilo;
using OrleansKafka.AspNetCore;
using OrleansKafka.Hosting;

// An Orleans silo of your own that processes Kafka: a processor that sees every order of a
// partition in offset order, a key grain per customer with exactly-once state, and the Kafka page.
var builder = WebApplication.CreateBuilder(args);
builder.UseOrleans(silo => silo
    .UseLocalhostClustering(builder.Configuration.GetValue("Orleans:SiloPort", 11111), builder.Configuration.GetValue("Orleans:GatewayPort", 30000))
    .AddKafkaProcessing(builder.Configuration.GetSection("Kafka"))
    .AddProcessor<OrderLogProcessor>("order-log")
    .AddKeyGrain<ICustomerOrdersGrain>("customer-orders"));

// The Kafka page at /kafka (its JSON and partition actions with it) and /health/live, /health/ready.
// With no OrleansKafka:Token set, they answer this machine (loopback) alone.
builder.Services.AddOrleansKafkaEndpoints(builder.Configuration.GetSection("OrleansKafka"));

var app = builder.Build();
app.MapOrleansKafka();
app.MapOrleansKafkaHealthChecks();
app.MapGet("/customers/{customer}", async (string customer, IGrainFactory grains) => await grains.GetGrain<ICustomerOrdersGrain>(customer).GetOrdersAsync())
    .RequireAuthorization(OrleansKafkaEndpointOptions.ReadsPolicyName);
await app.RunAsync();
