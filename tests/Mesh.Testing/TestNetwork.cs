using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Mesh.Testing;

/// <summary>A network of hosts the test builds itself: each host is a network namespace with one address, its
/// <c>eth0</c> a veth whose other end is enslaved to a bridge in a hub namespace. Nothing is added to the namespace
/// the tests run in; the addresses (10.77.0.0/24) exist only inside these namespaces, and <see cref="Dispose"/>
/// deletes every namespace (and with them every veth and the bridge).</summary>
/// <remarks>Namespaces are named <c>meshnet-PID-…</c>: a run that died without cleaning up leaves namespaces of a
/// dead process, which the next <see cref="Create"/> deletes.</remarks>
public sealed class TestNetwork : IDisposable
{
    private const string Prefix = "meshnet-";
    private readonly string _id;
    private readonly List<NetHost> _hosts = [];
    private readonly Lock _lock = new();
    private int _disposed;

    private TestNetwork(string id)
    {
        _id = id;
        Hub = $"{Prefix}{_id}-hub";
    }

    /// <summary>The namespace holding the bridge every host is plugged into.</summary>
    public string Hub { get; }

    public IReadOnlyList<NetHost> Hosts
    {
        get
        {
            lock (_lock)
            {
                return _hosts.ToList();
            }
        }
    }

    /// <summary>Why these tests cannot run here (not root, no <c>ip</c>), or null when they can.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root" && geteuid() != 0)
        {
            return "network namespaces need root";
        }

        return Tool.Run("ip", ["netns", "list"]).ExitCode == 0 ? null : "'ip netns' does not work here";
    }

    /// <summary>Builds the hub and one host per name (10.77.0.1, .2, … in order).</summary>
    public static TestNetwork Create(params string[] hostNames)
    {
        SweepStale();
        var network = new TestNetwork($"{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");
        try
        {
            Ip("netns", "add", network.Hub);
            network.InHub("ip", "link", "set", "lo", "up");
            network.InHub("ip", "link", "add", "br0", "type", "bridge");
            network.InHub("ip", "link", "set", "br0", "up");
            foreach (var name in hostNames)
            {
                network.Add(name);
            }

            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Adds a host: its namespace, its veth into the hub's bridge, its address, its links up.</summary>
    public NetHost Add(string name)
    {
        int index;
        lock (_lock)
        {
            index = _hosts.Count + 1;
        }

        if (index > 250)
        {
            throw new InvalidOperationException("a test network holds at most 250 hosts");
        }

        var ns = $"{Prefix}{_id}-{name}";
        var hubEnd = $"v{index}";
        Ip("netns", "add", ns);
        var host = new NetHost(this, name, ns, IPAddress.Parse($"10.77.0.{index}"), hubEnd);
        lock (_lock)
        {
            _hosts.Add(host);
        }

        // Both ends are made straight inside their namespaces: no interface ever appears in the tests' own.
        Ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", hubEnd, "netns", Hub);
        InHub("ip", "link", "set", hubEnd, "master", "br0");
        InHub("ip", "link", "set", hubEnd, "up");
        host.Run("ip", "link", "set", "lo", "up");
        host.Run("ip", "addr", "add", $"{host.Address}/24", "dev", "eth0");
        host.Run("ip", "link", "set", "eth0", "up");
        return host;
    }

    public NetHost this[string name] => Hosts.Single(h => h.Name == name);

    internal void InHub(params string[] command) => Ip(["netns", "exec", Hub, .. command]);

    internal static void Ip(params string[] args)
    {
        var (code, output) = Tool.Run("ip", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {output.Trim()}");
        }
    }

    /// <summary>Deletes the namespaces of test runs whose process is gone.</summary>
    public static void SweepStale()
    {
        var (code, output) = Tool.Run("ip", ["netns", "list"]);
        if (code != 0)
        {
            return;
        }

        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var pid = name[Prefix.Length..].Split('-')[0];
            if (int.TryParse(pid, out var p) && p != Environment.ProcessId && !Directory.Exists($"/proc/{p}"))
            {
                KillProcessesIn(name);
                _ = Tool.Run("ip", ["netns", "del", name]);
            }
        }
    }

    private static void KillProcessesIn(string ns)
    {
        var (code, output) = Tool.Run("ip", ["netns", "pids", ns]);
        if (code != 0)
        {
            return;
        }

        foreach (var pid in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(pid, out var p))
            {
                _ = kill(p, 9);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var host in Hosts)
        {
            KillProcessesIn(host.Namespace);
            _ = Tool.Run("ip", ["netns", "del", host.Namespace]);
        }

        _ = Tool.Run("ip", ["netns", "del", Hub]);
    }

    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc")]
    private static extern int kill(int pid, int sig);
}

/// <summary>One host of a <see cref="TestNetwork"/>: a namespace with one address on <c>eth0</c>.</summary>
public sealed class NetHost
{
    private readonly TestNetwork _network;
    private readonly string _hubEnd;

    internal NetHost(TestNetwork network, string name, string ns, IPAddress address, string hubEnd)
    {
        _network = network;
        Name = name;
        Namespace = ns;
        Address = address;
        _hubEnd = hubEnd;
    }

    public string Name { get; }

    public string Namespace { get; }

    public IPAddress Address { get; }

    public override string ToString() => $"{Name} ({Address})";

    /// <summary>Runs a command inside this host; fails when it does.</summary>
    public void Run(params string[] command) => TestNetwork.Ip(["netns", "exec", Namespace, .. command]);

    /// <summary>Runs a command inside this host; returns its exit code and output.</summary>
    public (int ExitCode, string Output) Try(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        Tool.Run("ip", ["netns", "exec", Namespace, file, .. args], environment);

    /// <summary>The same start info, run inside this host (<c>ip netns exec</c> execs it: the pid is the program's).</summary>
    public ProcessStartInfo Inside(ProcessStartInfo info)
    {
        var wrapped = new ProcessStartInfo("ip")
        {
            RedirectStandardInput = info.RedirectStandardInput,
            RedirectStandardOutput = info.RedirectStandardOutput,
            RedirectStandardError = info.RedirectStandardError,
            UseShellExecute = false,
            StandardOutputEncoding = info.StandardOutputEncoding,
            StandardErrorEncoding = info.StandardErrorEncoding,
            WorkingDirectory = info.WorkingDirectory,
        };
        foreach (var arg in new[] { "netns", "exec", Namespace, info.FileName })
        {
            wrapped.ArgumentList.Add(arg);
        }

        foreach (var arg in info.ArgumentList)
        {
            wrapped.ArgumentList.Add(arg);
        }

        wrapped.Environment.Clear();
        foreach (var (key, value) in info.Environment)
        {
            wrapped.Environment[key] = value;
        }

        return wrapped;
    }

    /// <summary>Takes this host's link down, as a cable pulled: the address stays, nothing goes in or out.</summary>
    public void LinkDown() => Run("ip", "link", "set", "eth0", "down");

    /// <summary>Brings the link back up; its route comes back with it.</summary>
    public void LinkUp() => Run("ip", "link", "set", "eth0", "up");

    /// <summary>Unplugs this host from the bridge: its link stays up but every packet it sends or should receive is
    /// lost, which is what a stall of the network looks like to TCP (it retransmits, and nothing is reset).</summary>
    public void Unplug() => _network.InHub("ip", "link", "set", _hubEnd, "nomaster");

    public void Plug() => _network.InHub("ip", "link", "set", _hubEnd, "master", "br0");

    /// <summary>A TCP socket that lives in this host's namespace (a socket stays in the namespace it was made in):
    /// made on a thread of its own that enters the namespace first.</summary>
    public Socket NewTcpSocket()
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{Namespace}", FileMode.Open, FileAccess.Read);
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns into {Namespace} failed: errno {Marshal.GetLastPInvokeError()}");
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new InvalidOperationException($"no socket in {Namespace}", failure);
    }

    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);
}
