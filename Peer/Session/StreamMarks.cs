namespace Mesh.Peer.Session;

/// <summary>How far each sender's runs have come in one group, as this peer has seen them (every message shown, own
/// included): where a departure this peer commits cuts the departing member's stream. Session loop only.</summary>
internal sealed class StreamMarks
{
    /// <summary>The most runs remembered per sender (the latest): a departure lists no more than the log takes.</summary>
    public const int MaxRunsPerSender = Groups.LogEntry.MaxCutRuns;

    private readonly Dictionary<string, SortedDictionary<long, long>> _senders = new(StringComparer.Ordinal);

    public void Note(string peerId, long run, long seq)
    {
        if (!_senders.TryGetValue(peerId, out var runs))
        {
            _senders[peerId] = runs = [];
        }

        if (runs.TryGetValue(run, out var last))
        {
            if (seq > last)
            {
                runs[run] = seq;
            }

            return;
        }

        runs[run] = seq;
        if (runs.Count > MaxRunsPerSender)
        {
            runs.Remove(runs.Keys.First());
        }
    }

    /// <summary>Whether the message <paramref name="seq"/> of run <paramref name="run"/> of <paramref name="peerId"/>
    /// was seen here (a run older than those remembered counts as seen: only the latest are kept).</summary>
    public bool Holds(string peerId, long run, long seq) =>
        _senders.TryGetValue(peerId, out var runs) && runs.Count > 0
        && (runs.TryGetValue(run, out var last) ? seq <= last : run < runs.Keys.First());

    /// <summary>Each run of <paramref name="peerId"/> seen, with its last sequence number, runs rising.</summary>
    public IReadOnlyList<(long Run, long Seq)> Of(string peerId) =>
        _senders.TryGetValue(peerId, out var runs) ? runs.Select(r => (r.Key, r.Value)).ToList() : [];
}
