using Microsoft.Extensions.Options;

namespace OrleansKafka.AspNetCore.Access;

/// <summary>A token short enough to guess fails the host's start, naming the setting it came from (never its value).</summary>
internal sealed class TokenLength : IValidateOptions<OrleansKafkaEndpointOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansKafkaEndpointOptions options) =>
        string.IsNullOrEmpty(options.Token) || options.Token.Length >= OrleansKafkaEndpointOptions.MinimumTokenLength
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{options.TokenSetting} has {options.Token.Length} characters; expected at least {OrleansKafkaEndpointOptions.MinimumTokenLength} (for example from `openssl rand -base64 32`), so that it cannot be guessed.");
}
