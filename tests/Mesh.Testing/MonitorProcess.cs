using System.Diagnostics;
using System.Text.Json;

namespace Mesh.Testing;

/// <summary>A real <c>mesh monitor</c> process with its status page on a free loopback port.</summary>
public sealed class MonitorProcess : IDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private MonitorProcess(Process process, int port, string logPath)
    {
        _process = process;
        Port = port;
        LogPath = logPath;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/";

    public string LogPath { get; }

    public bool Exited => _process.HasExited;

    public static MonitorProcess Start(string etcd, params string[] extra)
    {
        var port = FreePort.Next();
        var log = Path.Combine(Path.GetTempPath(), $"mesh-monitor-{Guid.NewGuid():N}.log");
        var info = MeshCli.StartInfo(["monitor", "--etcd", etcd, "--http", $"127.0.0.1:{port}", .. extra]);
        return new MonitorProcess(ServerProcess.Start(info, log), port, log);
    }

    /// <summary>What the status page shows now (<c>/api/state</c>), or null while it does not answer.</summary>
    public async Task<JsonElement?> StateAsync()
    {
        try
        {
            var body = await _http.GetStringAsync(Url + "api/state");
            return JsonDocument.Parse(body).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until the state satisfies <paramref name="condition"/>; returns that state.</summary>
    public async Task<JsonElement> WaitForStateAsync(Func<JsonElement, bool> condition, TimeSpan timeout, string what)
    {
        JsonElement? last = null;
        await Waiting.UntilAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"mesh monitor exited ({_process.ExitCode}) while waiting for {what}: {File.ReadAllText(LogPath)}");
            }

            last = await StateAsync();
            return last is { } state && condition(state);
        }, timeout, $"the monitor to show {what}", () => $"last state: {last}");
        return last!.Value;
    }

    /// <summary>Sends SIGTERM and waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        _ = kill(_process.Id, 15);
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public void Dispose()
    {
        ServerProcess.Kill(_process);
        _process.Dispose();
        _http.Dispose();
    }
}
