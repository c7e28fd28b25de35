namespace Mesh.Monitoring.Watcher;

/// <summary>A peer, with its groups and the links it reports, and the monitor's verdict on it: <c>healthy</c>,
/// <c>suspect</c> (others see its link down, whatever it says), <c>failed</c> (its lease expired; kept listed for a
/// while, greyed, with <paramref name="Cause"/> and <paramref name="StateSince"/>), <c>deleted</c> (its presence record
/// was deleted while its lease lives, or the lease could not be checked: listed like a failed one, with the cause) or
/// <c>unsigned</c> (its record is not signed by the peer it names: not online, whatever it says; <paramref name="Cause"/>
/// says why).</summary>
public sealed record PeerView(string Id, string Name, string Endpoint, long Since, IReadOnlyList<string> Groups, IReadOnlyList<LinkView> Links,
    string State = PeerVerdict.Healthy, string? Cause = null, long? StateSince = null, IReadOnlyList<string>? SeenDownBy = null)
{
    /// <summary>Its own figures from InfluxDB (null when none were read: no InfluxDB, or it reported none lately).</summary>
    public PeerFigures? Figures { get; init; }
}
