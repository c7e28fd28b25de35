using Mesh.Coordinator.Membership;

namespace Mesh.Monitoring.Watcher;

/// <summary>One truth per peer: what it says of itself weighed against what the peers that follow it report of their
/// links to it. A peer that others see down is <see cref="Suspect"/> whatever its own report says (a frozen peer's
/// last report shows all its links up); one whose lease expired is <see cref="Failed"/>; one whose presence record was
/// deleted while its lease lives (or could not be checked) is <see cref="Deleted"/>, not failed; a peer record that the
/// peer it names did not sign is <see cref="Unsigned"/>, never judged healthy, and counted nowhere.</summary>
public sealed record PeerVerdict(string State, string? Cause, IReadOnlyList<string> SeenDownBy, int Observers)
{
    public const string Healthy = "healthy";
    public const string Suspect = "suspect";
    public const string Failed = "failed";
    public const string Unsigned = "unsigned";
    public const string Deleted = "deleted";

    /// <summary>Judges an online peer from every online peer's link report (keyed by reporter).</summary>
    /// <param name="nameOf">Display names of peer ids, for the cause.</param>
    public static PeerVerdict Judge(string peerId, IReadOnlyDictionary<string, LinkStates> reports, Func<string, string> nameOf)
    {
        var downBy = new List<string>();
        var observers = 0;
        foreach (var (reporter, states) in reports)
        {
            if (reporter == peerId)
            {
                continue;
            }

            if (states.Down.Contains(peerId))
            {
                observers++;
                downBy.Add(reporter);
            }
            else if (states.Up.Contains(peerId))
            {
                observers++;
            }
        }

        if (downBy.Count == 0)
        {
            return new PeerVerdict(Healthy, null, [], observers);
        }

        var names = downBy.Select(nameOf).Order(StringComparer.Ordinal).ToList();
        var shown = names.Count > 5 ? string.Join(", ", names.Take(5)) + $" and {names.Count - 5} more" : string.Join(", ", names);
        return new PeerVerdict(Suspect, $"{names.Count} of the {observers} peers that follow it see its link down ({shown})", names, observers);
    }
}
