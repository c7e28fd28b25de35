namespace Mesh.Peer.Home;

/// <summary>What reading a file of records found: how many were good, how many stretches of damage were skipped
/// (each lost at least one record), where the last good record ends, and whether the file ends in a torn write.</summary>
public readonly record struct RecordScan(long Records, long Damaged, int GoodBytes, bool TornTail);
