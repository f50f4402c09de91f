using Microsoft.Extensions.Options;

namespace OrleansKafka.Silo.Settings;

/// <summary>Why start-up failed, in one line: the messages of the exception and its causes, without wrappers' boilerplate.</summary>
internal static class StartupFailure
{
    public static string Describe(Exception failure)
    {
        var messages = new List<string>();
        Collect(failure, messages);
        return string.Join(" <- ", messages.Distinct(StringComparer.Ordinal));
    }

    private static void Collect(Exception e, List<string> messages)
    {
        switch (e)
        {
            case OptionsValidationException validation:
                messages.AddRange(validation.Failures);
                return;
            case AggregateException aggregate:
                foreach (var inner in aggregate.InnerExceptions)
                {
                    Collect(inner, messages);
                }

                return;
        }

        messages.Add(e.Message);
        if (e.InnerException is not null)
        {
            Collect(e.InnerException, messages);
        }
    }
}
