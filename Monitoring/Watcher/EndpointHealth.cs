namespace Mesh.Monitoring.Watcher;

/// <summary>One etcd endpoint as mesh monitor last saw it.</summary>
public sealed record EndpointHealth(string Endpoint, bool Healthy, bool Leader, long DbSizeBytes, double LatencyMs, string? Version, string? Error, string? MemberId)
{
    /// <summary>The share of its quota at which a member's database is said to be filling (80 %).</summary>
    public const double WarnAt = 0.8;

    /// <summary>The backend quota the member runs with (etcd does not tell it: <c>--etcd-quota</c>); 0 when not known.</summary>
    public long QuotaBytes { get; init; }

    /// <summary>When this was checked (Unix ms).</summary>
    public long? CheckedAt { get; init; }

    /// <summary>The alarms etcd raised on the member (<c>NOSPACE</c>, <c>CORRUPT</c>).</summary>
    public IReadOnlyList<string> Alarms { get; init; } = [];

    /// <summary>The database's size as a percentage of the quota (null when the size or quota is not known).</summary>
    public double? QuotaPercent => QuotaBytes > 0 && DbSizeBytes > 0 ? 100.0 * DbSizeBytes / QuotaBytes : null;

    /// <summary>Said when the database has passed <see cref="WarnAt"/> of its quota and no alarm says more.</summary>
    public string? Warning => Alarms.Count == 0 && QuotaPercent is { } used && used >= WarnAt * 100
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"database at {used:F0} % of its {QuotaBytes / (1024.0 * 1024.0):F0} MiB quota ({DbSizeBytes / (1024.0 * 1024.0):F1} MiB): etcd stops taking writes when it is full; compact and defragment it (docs/monitoring.md)")
        : null;
}
