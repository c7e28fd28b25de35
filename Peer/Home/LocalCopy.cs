using Mesh.Coordinator.History;

namespace Mesh.Peer.Home;

/// <summary>A group's local history copy as loaded: its entries in key order, the revision and cluster it is complete
/// up to (revision 0: read everything from etcd), and how many stretches of damage were skipped.</summary>
public sealed record LocalCopy(IReadOnlyList<HistoryEntry> Entries, long Revision, string Cluster, long Damaged)
{
    /// <summary>The last entry the copy took from etcd, <c>NAME@REVISION</c> ("" when none or not known).</summary>
    public string Witness { get; init; } = "";

    /// <summary>The witness's name and the etcd revision it was written at; null when there is none.</summary>
    public (string Name, long Revision)? WitnessEntry =>
        Witness.LastIndexOf('@') is var at and > 0 && long.TryParse(Witness.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision)
            ? (Witness[..at], revision)
            : null;
}
