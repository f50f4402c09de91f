using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace OrleansKafka.Testing.Processes;

/// <summary>
/// A program started by a test or benchmark: its output is kept, so a test can wait for a line
/// and show the tail on failure; it is killed (SIGKILL) when disposed if still running.
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly string _name;

    private ChildProcess(string name, Process process)
    {
        _name = name;
        _process = process;
    }

    /// <summary>The operating-system process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once ended.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Every line written so far to stdout and stderr, in arrival order.</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>Starts <paramref name="fileName"/> with its output captured; it is killed if this process dies.</summary>
    /// <remarks>
    /// Started through util-linux's <c>setpriv --pdeathsig KILL</c>: a test run or benchmark
    /// that is itself killed (SIGKILL, a CI timeout) takes its silos, Kafka and Redis with it
    /// instead of leaving them to slow every later run. A <c>setpriv</c> command gets the option
    /// itself, so that it applies after the user id it sets (a change of user id clears it).
    /// </remarks>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        string[] dieWithParent = ["--pdeathsig", "KILL"];
        var info = new ProcessStartInfo("setpriv", fileName == "setpriv" ? [.. dieWithParent, .. arguments] : [.. dieWithParent, "--", fileName, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        if (!Spawner.Start(process))
        {
            throw new InvalidOperationException($"{name}: '{fileName}' did not start.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for an output line that matches <paramref name="pattern"/> and returns its match.</summary>
    /// <exception cref="TimeoutException">No such line in time, or the process ended first; the message has the output's tail.</exception>
    public async Task<Match> WaitForOutputAsync(Regex pattern, TimeSpan timeout)
    {
        Match? found = null;
        var seen = await Poll.UntilAsync(
            () =>
            {
                found = _output.Select(line => pattern.Match(line)).FirstOrDefault(m => m.Success);
                return found is not null || _process.HasExited;
            },
            timeout,
            TimeSpan.FromMilliseconds(50));
        if (found is null)
        {
            if (_process.HasExited)
            {
                // Ended: wait until its last output lines have been read, for the message.
                await _process.WaitForExitAsync();
            }

            var why = !seen ? $"within {timeout.TotalSeconds:0} s" : $"before it exited with code {_process.ExitCode}";
            throw new TimeoutException($"{_name} wrote no line matching '{pattern}' {why}. Last output:{Environment.NewLine}{Tail()}");
        }

        return found;
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            // Also waits until the output is read to its end.
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_name} did not exit within {timeout.TotalSeconds:0} s. Last output:{Environment.NewLine}{Tail()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM: a graceful stop.</summary>
    public void Terminate()
    {
        if (!_process.HasExited && Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"{_name}: kill(SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>Sends SIGSTOP: the process stops where it is, as in a long GC pause or a stalled VM, until <see cref="Thaw"/>.</summary>
    public void Freeze()
    {
        // SIGSTOP cannot be caught or ignored, so the process gets no chance to notice the pause.
        if (!_process.HasExited && Kill(_process.Id, SigStop) != 0)
        {
            throw new InvalidOperationException($"{_name}: kill(SIGSTOP) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>Sends SIGCONT: a process stopped by <see cref="Freeze"/> runs on from where it stopped.</summary>
    public void Thaw()
    {
        if (!_process.HasExited && Kill(_process.Id, SigCont) != 0)
        {
            throw new InvalidOperationException($"{_name}: kill(SIGCONT) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>Sends SIGKILL: the process dies at once, with no chance to clean up.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// The running processes (zombies aside) whose parent is <paramref name="parentId"/>, this
    /// process by default: what a benchmark or test left behind once it has stopped everything.
    /// </summary>
    public static IReadOnlyList<(int Id, string CommandLine)> RunningChildren(int? parentId = null)
    {
        var parent = (parentId ?? Environment.ProcessId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var children = new List<(int, string)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[1] == parent && fields[0] != "Z" && int.TryParse(Path.GetFileName(directory), out var id))
                {
                    children.Add((id, File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ').Trim()));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // Not a process folder, or the process ended while it was read.
            }
        }

        return children;
    }

    /// <summary>The last lines of output, for failure messages.</summary>
    public string Tail(int lines = 30) => string.Join(Environment.NewLine, _output.TakeLast(lines));

    /// <inheritdoc />
    /// <remarks>Idempotent: a test may stop a process early (a store going away) and still dispose it at the end.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        KillHard();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private int _disposed;

    private void Append(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    /// <summary>
    /// Starts processes from one thread that lives as long as this process: the parent-death
    /// signal fires when the thread that started the child ends, and thread-pool threads end when idle.
    /// </summary>
    private static class Spawner
    {
        private static readonly BlockingCollection<Action> Work = CreateThread();

        public static bool Start(Process process)
        {
            var started = false;
            ExceptionDispatchInfo? failure = null;
            using var done = new ManualResetEventSlim();
            Work.Add(() =>
            {
                try
                {
                    started = process.Start();
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
                finally
                {
                    done.Set();
                }
            });
            done.Wait();
            failure?.Throw();
            return started;
        }

        private static BlockingCollection<Action> CreateThread()
        {
            var work = new BlockingCollection<Action>();
            new Thread(() =>
            {
                foreach (var start in work.GetConsumingEnumerable())
                {
                    start();
                }
            })
            { IsBackground = true, Name = "child process starter" }.Start();
            return work;
        }
    }

    private const int SigTerm = 15;
    private const int SigStop = 19;
    private const int SigCont = 18;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
