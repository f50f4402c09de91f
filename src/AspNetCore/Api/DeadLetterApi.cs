using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OrleansKafka.AspNetCore.Access;
using OrleansKafka.Configuration;
using OrleansKafka.DeadLetters;
using OrleansKafka.Kafka;
using OrleansKafka.Processing;

namespace OrleansKafka.AspNetCore.Api;

/// <summary>
/// The page's dead letters: <c>GET {prefix}/dead-letters</c> (the dead-letter topics of this
/// silo's processors), <c>GET .../{topic}</c> (the newest 500 records of each partition, at most
/// 500 listed, which were redriven, and from where and why they came) and
/// <c>POST .../{topic}/redrive</c> with <c>key</c>, <c>partition</c>, <c>fromOffset</c>,
/// <c>toOffset</c> and <c>destination</c> (a topic a processor reads) in the query, as
/// <c>orleans-kafka dlq redrive</c> does it (each record once). Only the processors' dead-letter
/// topics: any other answers 404, so the page reads no other topic.
/// </summary>
internal static class DeadLetterApi
{
    /// <summary>The most records a topic's answer lists, newest first.</summary>
    public const int MaxListed = 500;

    private const int Preview = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static void Map(RouteGroupBuilder api, string readPolicy, string actionPolicy)
    {
        api.MapGet(string.Empty, (IOptions<KafkaProcessingOptions> options) => Results.Json(Topics(options.Value), Json)).RequireAuthorization(readPolicy);
        api.MapGet("/{topic}", (string topic, IOptions<KafkaProcessingOptions> options, IKafkaConnection kafka) =>
            OnDeadLetterTopicAsync(topic, options.Value, async () =>
            {
                // Only the newest of each partition: the whole topic would be read into the silo's memory.
                var (letters, redriven, records) = await Task.Run(() => DeadLetterTopic.Read(kafka.ClientSettings(), topic, null, MaxListed));
                return Results.Json(
                    new
                    {
                        topic,
                        recordsInTopic = records,
                        read = letters.Count,
                        redriven = letters.Count(l => redriven.Contains((l.Partition, l.Offset))),
                        letters = letters.OrderByDescending(l => l.Timestamp).ThenByDescending(l => l.Offset).Take(MaxListed).Select(l => new
                        {
                            l.Partition,
                            l.Offset,
                            l.Timestamp,
                            key = Cut(l.KeyText),
                            value = Cut(DeadLetter.Text(l.Value)),
                            errorType = l.Header(DeadLetterHeaders.ErrorType),
                            error = Cut(l.Header(DeadLetterHeaders.ErrorMessage) ?? string.Empty),
                            source = l.Source,
                            redriven = redriven.Contains((l.Partition, l.Offset)),
                        }),
                    },
                    Json);
            }))
            .RequireAuthorization(readPolicy);
        api.MapPost("/{topic}/redrive", (string topic, string? key, int? partition, long? fromOffset, long? toOffset, string? destination, IOptions<KafkaProcessingOptions> options, IKafkaConnection kafka) =>
            OnDeadLetterTopicAsync(topic, options.Value, async () =>
            {
                if (!string.IsNullOrWhiteSpace(destination) && !SourceTopics(options.Value).Contains(destination, StringComparer.Ordinal))
                {
                    return Results.Problem($"'{destination}' is not a topic a processor of this silo reads; expected one of: {string.Join(", ", SourceTopics(options.Value))}, or none for each record's source topic.", statusCode: StatusCodes.Status400BadRequest);
                }

                var (sent, before, noSource, failed) = await Task.Run(() => DeadLetterTopic.RedriveAsync(kafka.ClientSettings(), topic, new DeadLetterSelection(key, partition, fromOffset, toOffset), string.IsNullOrWhiteSpace(destination) ? null : destination));
                return Results.Json(new { topic, redriven = sent.Count, alreadyRedriven = before, noSourceTopic = noSource.Count, failed }, Json, statusCode: failed.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status502BadGateway);
            }))
            .RequireAuthorization(actionPolicy)
            .AddEndpointFilter<PageAntiforgery>();
    }

    /// <summary>The topics the enabled processors read: where a redrive may send records.</summary>
    private static List<string> SourceTopics(KafkaProcessingOptions options) =>
        [.. options.Processors.Values.Where(p => p.Enabled && !string.IsNullOrWhiteSpace(p.Topic)).Select(p => p.Topic!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The dead-letter topics of the enabled processors, in name order.</summary>
    private static List<string> Topics(KafkaProcessingOptions options) =>
        [.. options.Processors.Values.Where(p => p.Enabled && !string.IsNullOrWhiteSpace(p.Topic)).Select(p => p.EffectiveDeadLetterTopic).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>Runs <paramref name="call"/> for a processor's dead-letter topic: 404 for any other, or one Kafka does not have; 400 for a bad selection; 503 when Kafka does not answer.</summary>
    private static async Task<IResult> OnDeadLetterTopicAsync(string topic, KafkaProcessingOptions options, Func<Task<IResult>> call)
    {
        if (!Topics(options).Contains(topic, StringComparer.Ordinal))
        {
            return Results.Problem($"'{topic}' is not the dead-letter topic of a processor of this silo; expected one of: {string.Join(", ", Topics(options))}.", statusCode: StatusCodes.Status404NotFound);
        }

        try
        {
            return await call();
        }
        catch (ArgumentException e)
        {
            return Results.Problem(e.Message, statusCode: e.Message.StartsWith($"Topic '{topic}' does not exist", StringComparison.Ordinal) ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest);
        }
        catch (KafkaException e)
        {
            return Results.Problem($"Kafka did not answer ({e.Error.Code}: {e.Error.Reason}); nothing was changed.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static string Cut(string text) => text.Length <= Preview ? text : string.Concat(text.AsSpan(0, Preview - 1), "…");
}
