using System.Diagnostics;
using System.Net.Sockets;

namespace Mesh.Testing;

/// <summary>A real single-node etcd (Debian's etcd-server) on free loopback ports with a temporary data directory.</summary>
public sealed class EtcdProcess : IDisposable
{
    private readonly string _dataDir;
    private readonly int _peerPort;
    private Process? _process;

    private EtcdProcess(string name)
    {
        Name = name;
        ClientPort = FreePort.Next();
        _peerPort = FreePort.Next();
        _dataDir = Path.Combine(Path.GetTempPath(), $"mesh-etcd-{Guid.NewGuid():N}");
        LogPath = _dataDir + ".log";
    }

    public string Name { get; }

    public int ClientPort { get; }

    public string Url => $"http://127.0.0.1:{ClientPort}";

    public string LogPath { get; }

    public bool Running => _process is { HasExited: false };

    public static async Task<EtcdProcess> StartAsync(string name = "e0")
    {
        var etcd = new EtcdProcess(name);
        await etcd.StartAsync();
        return etcd;
    }

    /// <summary>Starts (or restarts, with the same data) the server and waits until it serves requests.</summary>
    public async Task StartAsync()
    {
        var peerUrl = $"http://127.0.0.1:{_peerPort}";
        var info = new ProcessStartInfo("etcd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--name", Name, "--data-dir", _dataDir,
            "--listen-client-urls", Url, "--advertise-client-urls", Url,
            "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", $"{Name}={peerUrl}",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
        _process = Process.Start(info) ?? throw new InvalidOperationException("etcd did not start");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Waiting.UntilAsync(() => Serving(), TimeSpan.FromSeconds(30), $"etcd on {Url}",
            () => _process.HasExited ? $"etcd exited {_process.ExitCode}; see {LogPath}" : "not serving");
    }

    private bool Serving()
    {
        if (_process is null || _process.HasExited)
        {
            return false;
        }

        var ctl = Etcdctl("endpoint", "health");
        return ctl.ExitCode == 0;
    }

    /// <summary>Runs etcdctl against this server; returns its exit code and output.</summary>
    public (int ExitCode, string Output) Etcdctl(params string[] args)
    {
        var info = new ProcessStartInfo("etcdctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ETCDCTL_API"] = "3";
        info.ArgumentList.Add("--endpoints");
        info.ArgumentList.Add(Url);
        info.ArgumentList.Add("--dial-timeout=2s");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var ctl = Process.Start(info)!;
        var stdout = ctl.StandardOutput.ReadToEndAsync();
        var stderr = ctl.StandardError.ReadToEndAsync();
        if (!ctl.WaitForExit(30_000))
        {
            ctl.Kill();
            return (-1, "etcdctl timed out");
        }

        return (ctl.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>How many keys start with <paramref name="prefix"/> (-1 when etcdctl fails), and the current revision.</summary>
    public (long Count, long Revision) CountKeys(string prefix)
    {
        var (code, output) = Etcdctl("get", prefix, "--prefix", "--keys-only", "--limit", "1", "-w", "json");
        if (code != 0)
        {
            return (-1, -1);
        }

        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var root = doc.RootElement;
        var count = root.TryGetProperty("count", out var c) ? c.GetInt64() : 0;
        return (count, root.GetProperty("header").GetProperty("revision").GetInt64());
    }

    /// <summary>Kills the server (SIGKILL); <see cref="StartAsync()"/> brings it back with its data.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
