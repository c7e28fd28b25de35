using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Mesh.Testing;

/// <summary>A headless <c>mesh join</c> process: every JSON line it prints is kept, in order, for the test to wait on.</summary>
public sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<JsonElement> _events = [];
    private readonly Lock _lock = new();
    private readonly StreamWriter _stderrLog;
    private readonly Task _stdoutPump;
    private readonly Dictionary<(string Type, string Group), int> _counts = [];
    private int _unparsable;
    private volatile TaskCompletionSource? _paused;
    private volatile bool _stdoutClosed;

    private PeerProcess(string name, string home, Process process, string stderrPath)
    {
        Name = name;
        Home = home;
        _process = process;
        StderrPath = stderrPath;
        _stderrLog = new StreamWriter(stderrPath, append: true) { AutoFlush = true };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderrLog)
                {
                    _stderrLog.WriteLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
        _stdoutPump = Task.Run(PumpStdoutAsync);
    }

    public string Name { get; }

    public string Home { get; }

    public string StderrPath { get; }

    public int Pid => _process.Id;

    public bool Exited => _process.HasExited;

    /// <summary>Its resident memory now, in MB (VmRSS in /proc).</summary>
    public double ResidentMb
    {
        get
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
                }
            }

            return double.NaN;
        }
    }

    /// <summary>Starts <c>mesh join GROUPS --headless --name NAME</c> with its own home (created when missing).</summary>
    public static PeerProcess Start(string etcd, string name, IReadOnlyList<string> groups, string? home = null, params string[] extra) =>
        Start(etcd, name, groups, home, new Dictionary<string, string>(), extra);

    /// <summary>As above, with environment variables for the process (MESH_LOG, say).</summary>
    public static PeerProcess Start(string etcd, string name, IReadOnlyList<string> groups, string? home,
        IReadOnlyDictionary<string, string> environment, params string[] extra) =>
        Start(null, etcd, name, groups, home, environment, extra);

    /// <summary>As above, run inside <paramref name="host"/> of a <see cref="TestNetwork"/> (in the tests' own
    /// network when null).</summary>
    public static PeerProcess Start(NetHost? host, string etcd, string name, IReadOnlyList<string> groups, string? home,
        IReadOnlyDictionary<string, string> environment, params string[] extra) =>
        Start(host, etcd, name, groups, home, environment, asLaunched: true, extra);

    /// <summary>Starts the peer as a bare <c>dotnet mesh.dll join</c>, without what deploy/mesh.sh sets: for the test of
    /// the peer's own replacement of itself.</summary>
    public static PeerProcess StartBare(string etcd, string name, IReadOnlyList<string> groups) =>
        Start(null, etcd, name, groups, null, new Dictionary<string, string>(), asLaunched: false);

    private static PeerProcess Start(NetHost? host, string etcd, string name, IReadOnlyList<string> groups, string? home,
        IReadOnlyDictionary<string, string> environment, bool asLaunched, params string[] extra)
    {
        home ??= Path.Combine(Path.GetTempPath(), $"mesh-home-{name}-{Guid.NewGuid():N}");
        var args = new List<string> { "join" };
        args.AddRange(groups);
        args.AddRange(["--headless", "--name", name, "--etcd", etcd, "--home", home]);
        args.AddRange(extra);
        var info = MeshCli.StartInfo(args);
        if (asLaunched && !environment.ContainsKey("MESH_SPIN"))
        {
            // What deploy/mesh.sh sets for join: without it every peer would start a second runtime, replacing itself
            // to get a runtime that does not spin (SpinFreeRuntime), a cold start paid twice per peer.
            info.Environment["DOTNET_PROCESSOR_COUNT"] = "1";
            info.Environment["MESH_CORES"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(host?.Inside(info) ?? info)!;
        return new PeerProcess(name, home, process, Path.Combine(Path.GetTempPath(), $"mesh-peer-{name}-{process.Id}.err"));
    }

    private async Task PumpStdoutAsync()
    {
        while (true)
        {
            if (_paused is { } paused)
            {
                await paused.Task;
            }

            if (_stdoutClosed)
            {
                break;
            }

            string? line;
            try
            {
                line = await _process.StandardOutput.ReadLineAsync();
            }
            catch (Exception e) when (_stdoutClosed && e is ObjectDisposedException or IOException or OperationCanceledException)
            {
                break;
            }

            if (line is null)
            {
                break;
            }

            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                var at = Stopwatch.GetTimestamp();
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement.Clone();
                var key = (e.Str("type") ?? "", e.Str("group") ?? "");
                lock (_lock)
                {
                    _events.Add(e);
                    _counts[key] = _counts.GetValueOrDefault(key) + 1;
                }

                EventReceived?.Invoke(e, at);
            }
            catch (JsonException)
            {
                Interlocked.Increment(ref _unparsable);
            }
        }
    }

    /// <summary>Stops reading stdout after the line being read: the pipe fills and the peer's writes to it block, as
    /// with a script that stopped reading. <see cref="ResumeReading"/> goes on from where it stopped.</summary>
    public void PauseReading() => Interlocked.CompareExchange(ref _paused, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    public void ResumeReading() => Interlocked.Exchange(ref _paused, null)?.TrySetResult();

    /// <summary>Closes the reading end of stdout, as a reader that exits does (<c>mesh join … | head -1</c>): the
    /// peer's writes to it fail with EPIPE. Nothing more is read.</summary>
    public void CloseStdout()
    {
        PauseReading();
        _stdoutClosed = true;
        _process.StandardOutput.Close();
    }

    /// <summary>Lines on stdout that were not JSON: the contract allows none.</summary>
    public int Unparsable => Volatile.Read(ref _unparsable);

    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_lock)
            {
                return _events.ToList();
            }
        }
    }

    /// <summary>Raised on the reading task for each event, with the <see cref="Stopwatch"/> timestamp of its arrival.</summary>
    public event Action<JsonElement, long>? EventReceived;

    /// <summary>How many events of a type (for a group) arrived: cheap enough to poll during a benchmark.</summary>
    public int CountOf(string type, string group)
    {
        lock (_lock)
        {
            return _counts.GetValueOrDefault((type, group));
        }
    }

    public IReadOnlyList<JsonElement> Of(string type, string? group = null) =>
        Events.Where(e => e.Str("type") == type && (group is null || e.Str("group") == group)).ToList();

    public IReadOnlyList<JsonElement> Messages(string group) => Of("message", group);

    public async Task WaitForAsync(Func<PeerProcess, bool> condition, TimeSpan timeout, string what)
    {
        await Waiting.UntilAsync(() =>
        {
            if (condition(this))
            {
                return true;
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited ({_process.ExitCode}) while waiting for {what}; stderr: {Tail()}");
            }

            return false;
        }, timeout, $"{Name}: {what}", () => $"{Events.Count} events; stderr: {Tail()}");
    }

    /// <summary>This peer's id, from its home's signing key (the peer creates it at start: call after it is ready).</summary>
    public string PeerId
    {
        get
        {
            using var identity = Mesh.Peer.Identity.IdentityStore.LoadOrCreate(Home);
            return identity.PeerId;
        }
    }

    public Task WaitReadyAsync(string group, TimeSpan? timeout = null) =>
        WaitForAsync(p => p.Of("ready", group).Count > 0, timeout ?? TimeSpan.FromSeconds(30), $"ready in {group}");

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Writes many lines in one go, as fast as the pipe takes them.</summary>
    public async Task SendManyAsync(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            await _process.StandardInput.WriteLineAsync(line);
        }

        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Closes stdin (end of input) and waits for the process to exit; returns its exit code.</summary>
    public async Task<int> CloseAsync(TimeSpan? timeout = null)
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
        await _stdoutPump;
        return _process.ExitCode;
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public void Signal(int signal) => _ = kill(_process.Id, signal);

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGSTOP = 19;
    public const int SIGCONT = 18;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public string Tail()
    {
        try
        {
            lock (_stderrLog)
            {
                var lines = File.ReadAllLines(StderrPath);
                return string.Join(" | ", lines.TakeLast(5));
            }
        }
        catch (IOException)
        {
            return "";
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        // Tests may stop a peer themselves and the fixture stops every peer again: the second time is a no-op.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        ResumeReading();
        if (!_process.HasExited)
        {
            Signal(SIGCONT);
            Kill();
        }

        try
        {
            await _stdoutPump.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }

        _process.Dispose();
        _stderrLog.Dispose();
    }
}
