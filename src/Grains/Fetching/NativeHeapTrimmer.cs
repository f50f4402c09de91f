using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace OrleansKafka.Fetching;

/// <summary>
/// Gives the native heap's free memory back to the operating system now and then
/// (<c>Kafka:NativeHeapTrimInterval</c>). librdkafka's fetch buffers and the feeds' packed records
/// are allocated and freed at the rate records arrive, by a few dozen threads, and glibc keeps
/// what they free in per-thread arenas, so a silo that has worked through a backlog holds far
/// more than it uses (docs/benchmarks.md, backlog). <c>malloc_trim</c> releases the free
/// pages of every arena; where it does not exist (not Linux, or not glibc) this does nothing.
/// </summary>
internal sealed partial class NativeHeapTrimmer(TimeSpan interval, TimeProvider time, ILogger<NativeHeapTrimmer> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _trims;

    /// <summary>Trims done so far.</summary>
    public int Trims => Volatile.Read(ref _trims);

    public void Start()
    {
        if (interval > TimeSpan.Zero && OperatingSystem.IsLinux())
        {
            _loop = RunAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                MallocTrim(0);
                Interlocked.Increment(ref _trims);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            LogUnavailable(logger, ex.Message);
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "The native heap is not trimmed: this C library has no malloc_trim ({Reason})")]
    private static partial void LogUnavailable(ILogger logger, string reason);
}
