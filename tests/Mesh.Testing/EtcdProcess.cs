using System.Diagnostics;
using System.Net.Sockets;

namespace Mesh.Testing;

/// <summary>A real single-node etcd (Debian's etcd-server) on free loopback ports with a temporary data directory.</summary>
public sealed class EtcdProcess : IDisposable
{
    private readonly string _dataDir;
    private readonly int _peerPort;
    private Process? _process;

    private string? _initialCluster;

    /// <summary>The host of a <see cref="TestNetwork"/> it runs in, or null for loopback here.</summary>
    private readonly NetHost? _host;

    private EtcdProcess(string name, bool secure = false, NetHost? host = null)
    {
        Secure = secure;
        Name = name;
        _host = host;
        ClientPort = host is null ? FreePort.Next() : HostClientPort;
        _peerPort = host is null ? FreePort.Next() : HostPeerPort;
        _dataDir = Path.Combine(Path.GetTempPath(), $"mesh-etcd-{Guid.NewGuid():N}");
        LogPath = _dataDir + ".log";
    }

    /// <summary>The ports a member listens on inside its own host.</summary>
    public const int HostClientPort = 2379;

    public const int HostPeerPort = 2380;

    public string Name { get; }

    public int ClientPort { get; }

    private string Address => _host?.Address.ToString() ?? "127.0.0.1";

    /// <summary>Where it listens for clients (what etcdctl in the tests uses).</summary>
    public string ListenUrl => $"{(Secure ? "https" : "http")}://{Address}:{ClientPort}";

    /// <summary>Where clients reach it: its listener, or the relay in front of it when one is configured.</summary>
    public string Url => _clientAdvertise ?? ListenUrl;

    private string? _clientAdvertise;
    private string? _peerAdvertise;

    /// <summary>Serves TLS with a certificate from a CA made for this server (see <see cref="CaPath"/>).</summary>
    public bool Secure { get; }

    public string CaPath => Path.Combine(_dataDir + "-tls", "ca.pem");

    /// <summary>etcdctl's --user, once auth is on.</summary>
    public string? RootUser { get; private set; }

    public string LogPath { get; }

    public bool Running => _process is { HasExited: false };

    /// <summary>Where the other members reach it: its peer listener, or the relay in front of it.</summary>
    public string PeerUrl => _peerAdvertise ?? PeerListenUrl;

    private string PeerListenUrl => $"http://{Address}:{_peerPort}";

    /// <summary>The backend quota (<c>--quota-backend-bytes</c>), when not etcd's default of 2 GiB.</summary>
    public long? QuotaBytes { get; private init; }

    /// <summary>Members of a cluster, not started yet: start them together (each needs a quorum to serve).</summary>
    public static IReadOnlyList<EtcdProcess> Cluster(int size)
    {
        var members = Enumerable.Range(0, size).Select(i => new EtcdProcess($"n{i}")).ToList();
        var initial = string.Join(",", members.Select(m => $"{m.Name}={m.PeerUrl}"));
        foreach (var member in members)
        {
            member._initialCluster = initial;
        }

        return members;
    }

    /// <summary>Members of a cluster, one on each host, not started yet. Each listens on its host's address
    /// (<see cref="HostClientPort"/>, <see cref="HostPeerPort"/>) and is reached, by clients and by the other members,
    /// at the ports <paramref name="clientPort"/> and <paramref name="peerPort"/> of its host: where the test puts
    /// relays (or the same ports, for none).</summary>
    public static IReadOnlyList<EtcdProcess> ClusterOn(IReadOnlyList<NetHost> hosts, int clientPort, int peerPort)
    {
        var members = hosts.Select(h => new EtcdProcess(h.Name, host: h)
        {
            _clientAdvertise = $"http://{h.Address}:{clientPort}",
            _peerAdvertise = $"http://{h.Address}:{peerPort}",
        }).ToList();
        var initial = string.Join(",", members.Select(m => $"{m.Name}={m.PeerUrl}"));
        foreach (var member in members)
        {
            member._initialCluster = initial;
        }

        return members;
    }

    public static async Task<EtcdProcess> StartAsync(string name = "e0", long? quotaBytes = null)
    {
        var etcd = new EtcdProcess(name) { QuotaBytes = quotaBytes };
        await etcd.StartAsync();
        return etcd;
    }

    /// <summary>An etcd serving TLS, with auth on: root (all) and a user that may read and write /mesh/ only.</summary>
    public static async Task<EtcdProcess> StartSecureAsync(string user, string password)
    {
        var etcd = new EtcdProcess("secure", secure: true);
        etcd.MakeCertificates();
        await etcd.StartAsync();
        foreach (var args in new[]
        {
            new[] { "user", "add", "root", "--new-user-password=root-secret" },
            ["role", "add", "mesh-users"],
            ["role", "grant-permission", "mesh-users", "readwrite", "/mesh/", "--prefix=true"],
            ["user", "add", user, $"--new-user-password={password}"],
            ["user", "grant-role", user, "mesh-users"],
            ["auth", "enable"],
        })
        {
            var (code, output) = etcd.Etcdctl(args);
            if (code != 0)
            {
                throw new InvalidOperationException($"etcdctl {string.Join(' ', args)}: {output}");
            }
        }

        etcd.RootUser = "root:root-secret";
        return etcd;
    }

    private void MakeCertificates()
    {
        var dir = Path.GetDirectoryName(CaPath)!;
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        foreach (var args in new[]
        {
            "req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=mesh-test-ca",
            "req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1",
            "x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 -extfile san.cnf",
        })
        {
            var (code, output) = Tool.Run("openssl", args.Split(' '), workingDirectory: dir);
            if (code != 0)
            {
                throw new InvalidOperationException($"openssl {args}: {output}");
            }
        }
    }

    /// <summary>Starts (or restarts, with the same data) the server and waits until it serves requests.</summary>
    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("etcd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--name", Name, "--data-dir", _dataDir,
            "--listen-client-urls", ListenUrl, "--advertise-client-urls", Url,
            "--listen-peer-urls", PeerListenUrl, "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", _initialCluster ?? $"{Name}={PeerUrl}",
            "--initial-cluster-token", _initialCluster is null ? "single" : "mesh-test-cluster",
        })
        {
            info.ArgumentList.Add(arg);
        }

        if (QuotaBytes is { } quota)
        {
            info.ArgumentList.Add("--quota-backend-bytes");
            info.ArgumentList.Add(quota.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (Secure)
        {
            var dir = Path.GetDirectoryName(CaPath)!;
            info.ArgumentList.Add("--cert-file");
            info.ArgumentList.Add(Path.Combine(dir, "server.pem"));
            info.ArgumentList.Add("--key-file");
            info.ArgumentList.Add(Path.Combine(dir, "server-key.pem"));
        }

        _process = ServerProcess.Start(_host?.Inside(info) ?? info, LogPath);
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
        var options = new List<string> { "--endpoints", ListenUrl, "--dial-timeout=2s" };
        if (Secure)
        {
            options.AddRange(["--cacert", CaPath]);
        }

        if (RootUser is not null)
        {
            options.AddRange(["--user", RootUser]);
        }

        var environment = new Dictionary<string, string> { ["ETCDCTL_API"] = "3" };
        return _host is null ? Tool.Run("etcdctl", [.. options, .. args], environment) : _host.Try("etcdctl", [.. options, .. args], environment);
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

    /// <summary>How many messages the history keys under <paramref name="prefix"/> hold, by their names (a key named
    /// <c>…~NNN</c> holds a sender's burst of NNN, any other one message); -1 when etcdctl fails.</summary>
    public long CountMessages(string prefix)
    {
        var (code, output) = Etcdctl("get", prefix, "--prefix", "--keys-only");
        return code != 0 ? -1 : output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Sum(MessagesIn);
    }

    /// <summary>How many messages a history key's name says it holds.</summary>
    public static int MessagesIn(string key)
    {
        var mark = key.Length - 4;
        return mark > 0 && key[mark] == '~' && int.TryParse(key.AsSpan(mark + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            && count is >= 2 and <= 256 ? count : 1;
    }

    /// <summary>Saves a snapshot of the data to <paramref name="path"/> (etcdctl snapshot save).</summary>
    public void SnapshotSave(string path)
    {
        var (code, output) = Etcdctl("snapshot", "save", path);
        if (code != 0)
        {
            throw new InvalidOperationException("etcdctl snapshot save: " + output);
        }
    }

    /// <summary>Stops the server and starts it again from <paramref name="snapshot"/> (etcdctl snapshot restore):
    /// everything written after the snapshot is gone, and the revision goes back to the snapshot's.</summary>
    public async Task RestoreAsync(string snapshot)
    {
        Kill();
        Directory.Delete(_dataDir, recursive: true);
        var (code, output) = Tool.Run("etcdctl", ["snapshot", "restore", snapshot, "--data-dir", _dataDir, "--name", Name,
            "--initial-cluster", _initialCluster ?? $"{Name}={PeerUrl}", "--initial-cluster-token", "single",
            "--initial-advertise-peer-urls", PeerUrl], new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        if (code != 0)
        {
            throw new InvalidOperationException("etcdctl snapshot restore: " + output);
        }

        await StartAsync();
    }

    /// <summary>Stops the server and starts an empty one in its place, on the same ports.</summary>
    public async Task ReplaceWithEmptyAsync()
    {
        Kill();
        Directory.Delete(_dataDir, recursive: true);
        await StartAsync();
    }

    /// <summary>Stops the server where it stands (SIGSTOP): connections stay open, nothing answers.</summary>
    public void Freeze() => Signal(19);

    /// <summary>Lets a frozen server go on (SIGCONT).</summary>
    public void Thaw() => Signal(18);

    private void Signal(int signal)
    {
        if (_process is { HasExited: false })
        {
            _ = kill(_process.Id, signal);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>Kills the server (SIGKILL); <see cref="StartAsync()"/> brings it back with its data.</summary>
    public void Kill() => ServerProcess.Kill(_process);

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        foreach (var dir in new[] { _dataDir, _dataDir + "-tls" })
        {
            try
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
