namespace Mesh.Peer.Configuration;

/// <summary>Everything a peer is configured with, from flags and environment variables, validated once.</summary>
public sealed record MeshOptions
{
    public const string DefaultEtcd = "http://127.0.0.1:2379";
    public const string DefaultBind = "tcp://127.0.0.1:*";

    public required IReadOnlyList<string> EtcdEndpoints { get; init; }

    /// <summary>How to reach etcd: the endpoints, plus TLS and user when configured.</summary>
    public Coordinator.Etcd.EtcdSettings Etcd { get; init; } = null!;

    public required string Home { get; init; }

    public string? Name { get; init; }

    /// <summary>Where the PUB socket binds; loopback with a free port unless configured.</summary>
    public string Bind { get; init; } = DefaultBind;

    /// <summary>The endpoint other peers connect to; derived from the bound one unless configured.</summary>
    public string? Advertise { get; init; }

    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Frames a link may queue (each way) before ZeroMQ drops them; what drops is repaired from history.</summary>
    public int HighWaterMark { get; init; } = DefaultHighWaterMark;

    public const int DefaultHighWaterMark = 200_000;

    /// <summary>How often, at most, a group's history is trimmed to its retention (env MESH_TRIM_INTERVAL).</summary>
    public TimeSpan RetentionInterval { get; init; } = DefaultRetentionInterval;

    public static readonly TimeSpan DefaultRetentionInterval = TimeSpan.FromMinutes(10);

    /// <summary>How often a group's history is read for what no link carried, when no gap is known (env
    /// MESH_SWEEP_INTERVAL); the local copy's revision moves on with each such read.</summary>
    public TimeSpan SweepInterval { get; init; } = DefaultSweepInterval;

    /// <summary>How long a starting peer waits for one that holds its home to exit before it refuses to run (env
    /// MESH_HOME_WAIT; <see cref="Identity.HomeLock.DefaultWait"/> unless set).</summary>
    public TimeSpan HomeWait { get; init; } = Identity.HomeLock.DefaultWait;

    /// <summary>How often rejected frames and history entries are logged as totals, and the window in which a link's
    /// rejects are counted against its limit (env MESH_REJECTION_INTERVAL; 10 s unless set).</summary>
    public TimeSpan RejectionInterval { get; init; } = Session.RejectionTally.DefaultInterval;

    /// <summary>How long a peer that is leaving waits for etcd to take the history entries of what it sent; what is
    /// left stays in the outbox for the next start (env MESH_EXIT_WRITE_WAIT).</summary>
    public TimeSpan ExitWriteWait { get; init; } = DefaultExitWriteWait;

    public static readonly TimeSpan DefaultExitWriteWait = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan DefaultSweepInterval = TimeSpan.FromMilliseconds(Session.HistorySweep.PeriodicMs);

    public static string DefaultHome() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".mesh");

    /// <summary>Builds options from flag values, falling back to MESH_* variables, and validates them.</summary>
    public static MeshOptions From(string? etcd, string? home, string? name, string? bind, string? advertise, int? leaseTtlSeconds)
    {
        etcd ??= Environment.GetEnvironmentVariable("MESH_ETCD");
        home ??= Environment.GetEnvironmentVariable("MESH_HOME");
        name ??= Environment.GetEnvironmentVariable("MESH_NAME");
        var endpoints = ParseEndpoints(string.IsNullOrWhiteSpace(etcd) ? DefaultEtcd : etcd);
        if (name is not null)
        {
            Naming.RequireName(name);
        }

        bind = ListenEndpoints.Check(string.IsNullOrWhiteSpace(bind) ? DefaultBind : bind.Trim(), advertise?.Trim());
        advertise = advertise?.Trim();

        var ttl = leaseTtlSeconds ?? 5;
        if (ttl is < 2 or > 300)
        {
            throw new MeshException($"--lease-ttl {ttl}: must be between 2 and 300 seconds", 2);
        }

        var hwm = DefaultHighWaterMark;
        if (Environment.GetEnvironmentVariable("MESH_HWM") is { Length: > 0 } hwmText
            && (!int.TryParse(hwmText, System.Globalization.CultureInfo.InvariantCulture, out hwm) || hwm is < 10 or > 10_000_000))
        {
            throw new MeshException($"MESH_HWM '{Naming.Printable(hwmText)}': must be a whole number from 10 to 10000000", 2);
        }

        var trim = Environment.GetEnvironmentVariable("MESH_TRIM_INTERVAL") is { Length: > 0 } trimText
            ? Durations.Parse("MESH_TRIM_INTERVAL", trimText, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1))
            : DefaultRetentionInterval;

        var sweep = Environment.GetEnvironmentVariable("MESH_SWEEP_INTERVAL") is { Length: > 0 } sweepText
            ? Durations.Parse("MESH_SWEEP_INTERVAL", sweepText, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1))
            : DefaultSweepInterval;

        var homeWait = Environment.GetEnvironmentVariable("MESH_HOME_WAIT") is { Length: > 0 } homeWaitText
            ? Durations.Parse("MESH_HOME_WAIT", homeWaitText, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10))
            : Identity.HomeLock.DefaultWait;

        var rejection = Environment.GetEnvironmentVariable("MESH_REJECTION_INTERVAL") is { Length: > 0 } rejectionText
            ? Durations.Parse("MESH_REJECTION_INTERVAL", rejectionText, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1))
            : Session.RejectionTally.DefaultInterval;

        var exitWrite = Environment.GetEnvironmentVariable("MESH_EXIT_WRITE_WAIT") is { Length: > 0 } exitWriteText
            ? Durations.Parse("MESH_EXIT_WRITE_WAIT", exitWriteText, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10))
            : DefaultExitWriteWait;

        return new MeshOptions
        {
            HighWaterMark = hwm,
            RetentionInterval = trim,
            SweepInterval = sweep,
            HomeWait = homeWait,
            RejectionInterval = rejection,
            ExitWriteWait = exitWrite,
            EtcdEndpoints = endpoints,
            Etcd = new Coordinator.Etcd.EtcdSettings(endpoints),
            Home = Path.GetFullPath(string.IsNullOrWhiteSpace(home) ? DefaultHome() : home),
            Name = name,
            Bind = bind,
            Advertise = advertise,
            LeaseTtl = TimeSpan.FromSeconds(ttl),
        };
    }

    public static IReadOnlyList<string> ParseEndpoints(string value)
    {
        var endpoints = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
        {
            throw new MeshException("--etcd: no endpoint given", 2);
        }

        foreach (var endpoint in endpoints)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https")
                || uri.IsDefaultPort && !endpoint.Contains(":" + uri.Port, StringComparison.Ordinal))
            {
                throw new MeshException($"--etcd: '{Naming.Printable(endpoint)}' is not an endpoint like http://127.0.0.1:2379", 2);
            }
        }

        return endpoints;
    }
}
