using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Peer.Groups;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>Members' beats: what this peer sent (so that others find what they missed) and its log head, published
/// once a second while that changes and ever less often while it does not (<see cref="BeatSchedule"/>); others' beats
/// read for gaps, round trips and forks. Session loop only.</summary>
internal sealed partial class Beats(SessionCore core, SessionParts parts, IFramePublisher node, IGroupLogStore logStore)
{
    private readonly ILogger _log = core.Log;

    private readonly BeatSchedule _schedule = new();

    /// <summary>Called every tick: whether beats leave at this one (see <see cref="BeatSchedule"/>).</summary>
    public bool Due(long nowMs) => _schedule.Due(nowMs, Said());

    /// <summary>The next tick sends beats (a link came up).</summary>
    public void Soon() => _schedule.Soon();

    /// <summary>A digest of what the beats would say now: when it changes, they leave within a second.</summary>
    private int Said()
    {
        var said = new HashCode();
        foreach (var state in core.Groups.Values)
        {
            if (!state.Connected || !state.HistoryLoaded)
            {
                continue;
            }

            said.Add(state.Name);
            said.Add(core.Sender?.LastPublished(state.Name) ?? 0);
            said.Add(state.Log.Head);
            said.Add(_recoveredTails.TryGetValue(state.Name, out var tails) ? tails.Count : 0);
            said.Add(state.Members.Count);
        }

        return said.ToHashCode();
    }

    /// <summary>Earlier runs of this home whose sent messages this run wrote from the outbox: their last numbers are
    /// announced too, so members that missed them (they were never published live) read them from history.</summary>
    private readonly Dictionary<string, SortedDictionary<long, long>> _recoveredTails = new(StringComparer.Ordinal);

    /// <summary>The sent messages of earlier runs that this run wrote from the outbox, by group, in the order sent:
    /// published again once the group is live, before anything of this run, so that members show a sender's runs in
    /// the order it sent them.</summary>
    private readonly Dictionary<string, List<byte[]>> _recovered = new(StringComparer.Ordinal);

    public void NoteRecovered(HistoryEntry entry)
    {
        if (!HistoryKey.TryParse(entry.Name, out var peerId, out var epoch, out _, out var seq) || peerId != core.PeerId
            || HistoryKey.TryExpand(entry) is null)
        {
            return;
        }

        if (!_recovered.TryGetValue(entry.Group, out var frames))
        {
            _recovered[entry.Group] = frames = [];
        }

        // Republished as written: a burst key's value is the frame its receivers copy whole, under the key's name.
        frames.Add(entry.Value);

        if (!_recoveredTails.TryGetValue(entry.Group, out var tails))
        {
            _recoveredTails[entry.Group] = tails = [];
        }

        tails[epoch] = Math.Max(seq, tails.GetValueOrDefault(epoch));
        while (tails.Count >= MemberBeat.MaxTails)
        {
            tails.Remove(tails.Keys.First());
        }
    }

    /// <summary>Publishes the earlier runs' messages of <paramref name="state"/>'s group that this run wrote from the
    /// outbox (once, in bursts, in the order sent): members that lack them show them now, ahead of this run's.</summary>
    public void RepublishRecovered(GroupState state)
    {
        if (!_recovered.Remove(state.Name, out var frames))
        {
            return;
        }

        // One frame per key (not packed together): a receiver's copy takes each frame as the key etcd holds.
        foreach (var frame in frames)
        {
            node.Publish(state.Name, frame);
        }
    }

    public void PublishBeats()
    {
        foreach (var state in core.Groups.Values)
        {
            if (!state.Connected || !state.HistoryLoaded)
            {
                continue;
            }

            var tails = new List<MemberBeat.Tail>(1);
            if (core.Sender?.LastPublished(state.Name) is > 0 and var last)
            {
                tails.Add(new MemberBeat.Tail(core.RunEpoch, last));
            }

            if (_recoveredTails.TryGetValue(state.Name, out var recovered))
            {
                tails.AddRange(recovered.Select(r => new MemberBeat.Tail(r.Key, r.Value)));
            }

            // On the group's topic, after the messages it counts: a subscriber gets them first, or lost them. Sent with
            // nothing to count too: it measures the round trip to every member.
            var (sent, echoes) = parts.Links.Rtt.NextBeat(state.Members.Keys, LinkRtt.NowUs);
            node.Publish(state.Name, new MemberBeat(tails)
            {
                SentUs = sent,
                Echoes = echoes,
                Head = (state.Log.Head, state.Log.HeadHash[..MemberBeat.HeadHashPrefix]),
            }.Encode());
        }
    }

    /// <summary>A member's beat: a number it names that this peer has not shown is a gap to read from history.</summary>
    public void OnBeat(GroupState state, SessionInput.Frame frame)
    {
        if (!state.Members.ContainsKey(frame.PeerId) || state.Sweep is null)
        {
            return;
        }

        if (MemberBeat.TryParse(frame.Payload) is not { } beat)
        {
            parts.Receiver.RejectFrame(frame, RejectReason.Malformed);
            return;
        }

        parts.Links.Rtt.OnBeat(frame.PeerId, beat, LinkRtt.NowUs);
        if (beat.Tails.Any(t => state.Orderer.Misses(frame.PeerId, t.Epoch, t.LastSeq)))
        {
            state.Sweep.NoteGap();
            core.ActiveAtMs = core.MonoMs;
        }

        if (beat.Head is { } head && head.Index >= 1 && head.Index <= state.Log.Head
            && !state.Log.HashAt(head.Index).StartsWith(head.Hash, StringComparison.Ordinal) && core.MonoMs - state.ForkCheckedAtMs >= ForkCheckEvery.TotalMilliseconds)
        {
            // The member applied another entry at that index: etcd's entry there is read at once, and whichever of the
            // two every member follows wins here (or is put back for the other, see LogFollower).
            state.ForkCheckedAtMs = core.MonoMs;
            var group = state.Name;
            var key = MeshKeys.LogEntry(group, head.Index);
            LogForkSeen(parts.Links.MemberName(frame.PeerId), head.Index, group);
            _ = core.Background($"reading entry {head.Index} of the log of '{group}'", async ct =>
            {
                if (await logStore.GetAsync(key, ct) is { } held)
                {
                    core.Post(new SessionInput.LogChanged(group, [new KeyChange(key, false, held.Value, held.ModRevision, 0)]));
                }
            });
        }
    }

    /// <summary>How often a member's beat naming another log head makes this peer read etcd's entry there.</summary>
    private static readonly TimeSpan ForkCheckEvery = TimeSpan.FromSeconds(2);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 541, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "{Member} follows another entry at index {Index} of the log of '{Group}': reading etcd's")]
    private partial void LogForkSeen(string member, long index, string group);
}
