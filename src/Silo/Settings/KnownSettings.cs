using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Orleans.Configuration;
using OrleansKafka.Configuration;
using OrleansKafka.Silo.Audit;
using OrleansKafka.Silo.Demo;
using OrleansKafka.Silo.Skew;
using OrleansKafka.Silo.Telemetry;

namespace OrleansKafka.Silo.Settings;

/// <summary>
/// Every setting the silo host reads under its own sections (<c>Silo</c>, <c>Kafka</c>,
/// <c>Dashboard</c>, <c>Demo</c>, <c>Audit</c>, <c>Skew</c>, <c>Telemetry</c>) and the type of its value, taken from the options
/// types it binds. A misspelt key (<c>Kafka__Procesors__...</c>) or a value of the wrong kind
/// (<c>OnFailure=Retry</c>) stops start-up with a message naming it, instead of being ignored or
/// failing later with a binder's stack trace.
/// </summary>
internal static class KnownSettings
{
    /// <summary>The sections whose keys are checked; any other section (Logging, ASP.NET Core's) is not ours to judge.</summary>
    public static readonly IReadOnlyList<string> Sections = ["Silo", "Kafka", "Dashboard", "Demo", "Audit", "Skew", "Telemetry"];

    // ':'-separated segments; '*' stands for any one segment (a processor's name, a librdkafka key,
    // a topic). The Silo and Dashboard keys are read by hand and checked where they are read.
    private static readonly Setting[] All =
    [
        .. new[]
        {
            "Silo:Clustering", "Silo:Redis", "Silo:Postgres", "Silo:AdvertisedAddress", "Silo:ClusterId", "Silo:ServiceId",
            "Silo:SiloPort", "Silo:GatewayPort", "Silo:Kubernetes", "Silo:StoreConnections",
            "Silo:Tls:Certificate", "Silo:Tls:CertificatePassword", "Silo:Tls:Trusted", "Dashboard:Urls", "Dashboard:Token",
        }.Select(p => new Setting(p.Split(':'), typeof(string))),
        new Setting(["Dashboard", "Trace"], typeof(bool)),
        .. Of(typeof(ClusterMembershipOptions), "Silo:Membership"),
        .. Of(typeof(KafkaProcessingOptions), KafkaProcessingOptions.SectionName),
        .. Of(typeof(DemoOptions), "Demo"),
        .. Of(typeof(AuditOptions), "Audit"),
        .. Of(typeof(SkewOptions), "Skew"),
        .. Of(typeof(TelemetryOptions), "Telemetry"),
    ];

    /// <summary>Whether the silo host reads <paramref name="key"/> (':'-separated, any case).</summary>
    public static bool IsKnown(string key) => Find(key) is not null;

    /// <summary>One message per key under the checked sections that the silo does not read or whose value it cannot read.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        var problems = new List<string>();
        var entries = Sections.SelectMany(s => configuration.GetSection(s).AsEnumerable())
            .Where(e => e.Value is not null)
            .OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in entries)
        {
            if (Find(key) is not { } setting)
            {
                problems.Add($"{key} is not a setting of the silo host; expected one of the keys in docs/configuration.md (check its spelling).");
            }
            else if (!Readable(setting.Type, value!))
            {
                problems.Add($"{key} is '{value}'; expected {Expected(setting.Type)}.");
            }
        }

        return problems;
    }

    private static Setting? Find(string key)
    {
        var segments = key.Split(':');
        return All.FirstOrDefault(p => p.Segments.Length == segments.Length
            && p.Segments.Zip(segments).All(s => s.First == "*" || string.Equals(s.First, s.Second, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>Whether the configuration binder can convert <paramref name="value"/>: the same converter it uses.</summary>
    private static bool Readable(Type type, string value)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return true;
        }

        if (type.IsEnum)
        {
            return Enum.GetNames(type).Contains(value.Trim(), StringComparer.OrdinalIgnoreCase);
        }

        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException)
        {
            return false;
        }
    }

    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type))}",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(TimeSpan) => "a duration such as 00:00:05 (hh:mm:ss)",
            _ when type == typeof(int) || type == typeof(long) => string.Create(CultureInfo.InvariantCulture, $"a whole number (up to {(type == typeof(int) ? int.MaxValue : long.MaxValue)})"),
            _ => $"a {type.Name} value",
        };
    }

    /// <summary>The settings of an options type bound at <paramref name="prefix"/>, nested types and dictionaries included.</summary>
    private static IEnumerable<Setting> Of(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var path = $"{prefix}:{property.Name}";
            var propertyType = property.PropertyType;
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                var valueType = propertyType.GetGenericArguments()[1];
                foreach (var setting in IsScalar(valueType) ? [new Setting($"{path}:*".Split(':'), valueType)] : Of(valueType, $"{path}:*"))
                {
                    yield return setting;
                }
            }
            else if (property.SetMethod is not { IsPublic: true })
            {
                continue;
            }
            else if (IsScalar(propertyType))
            {
                yield return new Setting(path.Split(':'), propertyType);
            }
            else if (propertyType.Namespace?.StartsWith("OrleansKafka", StringComparison.Ordinal) == true)
            {
                foreach (var setting in Of(propertyType, path))
                {
                    yield return setting;
                }
            }
        }
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(decimal);
    }

    private sealed record Setting(string[] Segments, Type Type);
}
