namespace OrleansKafka.Tests.Support;

public static class ExceptionChain
{
    /// <summary>The messages of an exception and its inner exceptions, outermost first.</summary>
    public static IEnumerable<string> Messages(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            yield return exception.Message;
        }
    }
}
