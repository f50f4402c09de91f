namespace OrleansKafka.AspNetCore;

/// <summary>
/// Who may read and act through the endpoints <see cref="OrleansKafkaEndpointRouteBuilderExtensions.MapOrleansKafka"/>
/// maps, and what the page links to.
/// </summary>
/// <remarks>
/// By default two built-in policies decide: reads (the page's JSON, a partition's history) are
/// open to requests whose connection is loopback at both ends, and need the bearer
/// <see cref="Token"/> otherwise; actions (pause, resume, seek, move, retry, skip, dead-letter)
/// need the token whenever one is set, and without one are open to loopback connections alone.
/// Name a policy of the host's own in <see cref="ActionPolicy"/> or <see cref="ReadPolicy"/> to
/// use its authentication instead. Whatever the policy, a browser's request made by a page of
/// another origin is refused, and an action without an <c>Authorization</c> header must carry
/// the page's anti-forgery token.
/// </remarks>
public sealed class OrleansKafkaEndpointOptions
{
    /// <summary>The built-in policy actions require unless <see cref="ActionPolicy"/> names another.</summary>
    public const string ActionsPolicyName = "OrleansKafka.Actions";

    /// <summary>The built-in policy reads require unless <see cref="ReadPolicy"/> names another.</summary>
    public const string ReadsPolicyName = "OrleansKafka.Reads";

    /// <summary>The fewest characters <see cref="Token"/> may have; a shorter one fails the host's start.</summary>
    public const int MinimumTokenLength = 32;

    /// <summary>
    /// The operator's bearer token for the built-in policies (<c>Authorization: Bearer &lt;token&gt;</c>),
    /// at least <see cref="MinimumTokenLength"/> characters; none by default. Give it from a
    /// secret; it is never logged.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>A policy the host registered that actions require instead of <see cref="ActionsPolicyName"/>.</summary>
    public string? ActionPolicy { get; set; }

    /// <summary>A policy the host registered that reads require instead of <see cref="ReadsPolicyName"/>.</summary>
    public string? ReadPolicy { get; set; }

    /// <summary>Where the page links to the Orleans dashboard (when the host maps it); null for no link. Default <c>/dashboard</c>.</summary>
    public string? DashboardPath { get; set; } = "/dashboard";

    /// <summary>The name the token goes by in the host's configuration, for error messages (the configuration overload sets it).</summary>
    internal string TokenSetting { get; set; } = $"{nameof(OrleansKafkaEndpointOptions)}.{nameof(Token)}";
}
