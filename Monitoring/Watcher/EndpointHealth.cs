namespace Mesh.Monitoring.Watcher;

/// <summary>What the last status request to one etcd endpoint found.</summary>
public sealed record EndpointHealth(string Endpoint, bool Healthy, bool Leader, long DbSizeBytes, double LatencyMs, string? Version, string? Error, string? MemberId);
