using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>No history echo on the live path: members announce what they sent in beats, and history is read only
/// for what the live path is known (or may be) to have missed (see <see cref="HistorySweep"/>).</summary>
public sealed partial class ChatSession
{
    /// <summary>A beat leaves every this many ticks (250 ms each): once a second.</summary>
    private const int TicksPerBeat = 4;

    private long _ticks;

    /// <summary>Earlier runs of this home whose sent messages this run wrote from the outbox: their last numbers are
    /// announced too, so members that missed them (they were never published live) read them from history.</summary>
    private readonly Dictionary<string, SortedDictionary<long, long>> _recoveredTails = new(StringComparer.Ordinal);

    /// <summary>Live messages shown but not yet in the local copy: written in one go when the loop runs out of input.</summary>
    private readonly Dictionary<string, List<HistoryEntry>> _copyPending = new(StringComparer.Ordinal);

    private void NoteRecovered(HistoryEntry entry)
    {
        if (!Envelope.TryParseHistoryName(entry.Name, out var peerId, out var epoch, out var seq) || peerId != PeerId)
        {
            return;
        }

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

    private void PublishBeats()
    {
        foreach (var state in _groups.Values)
        {
            if (!state.Connected || !state.HistoryLoaded)
            {
                continue;
            }

            var tails = new List<MemberBeat.Tail>(1);
            if (_sender?.LastSeq(state.Name) is > 0 and var last)
            {
                tails.Add(new MemberBeat.Tail(_epoch, last));
            }

            if (_recoveredTails.TryGetValue(state.Name, out var recovered))
            {
                tails.AddRange(recovered.Select(r => new MemberBeat.Tail(r.Key, r.Value)));
            }

            // On the group's topic, after the messages it counts: a subscriber gets them first, or lost them. Sent with
            // nothing to count too: it measures the round trip to every member.
            var (sent, echoes) = Rtt.NextBeat(state.Members.Keys, LinkRtt.NowUs);
            _node.Publish(state.Name, new MemberBeat(tails)
            {
                SentUs = sent,
                Echoes = echoes,
                Head = (state.Log.Head, state.Log.HeadHash[..MemberBeat.HeadHashPrefix]),
            }.Encode());
        }
    }

    /// <summary>A member's beat: a number it names that this peer has not shown is a gap to read from history.</summary>
    private void OnBeat(GroupState state, SessionInput.Frame frame)
    {
        if (!state.Members.ContainsKey(frame.PeerId) || state.Sweep is null)
        {
            return;
        }

        if (MemberBeat.TryParse(frame.Payload) is not { } beat)
        {
            RejectFrame(frame, RejectReason.Malformed);
            return;
        }

        Rtt.OnBeat(frame.PeerId, beat, LinkRtt.NowUs);
        if (beat.Tails.Any(t => state.Orderer.Misses(frame.PeerId, t.Epoch, t.LastSeq)))
        {
            state.Sweep.NoteGap();
        }

        if (beat.Head is { } head && head.Index >= 1 && head.Index <= state.Log.Head
            && !state.Log.HashAt(head.Index).StartsWith(head.Hash, StringComparison.Ordinal) && NowMs - state.ForkCheckedAtMs >= ForkCheckEvery.TotalMilliseconds)
        {
            // The member applied another entry at that index: etcd's entry there is read at once, and whichever of the
            // two every member follows wins here (or is put back for the other, see LogFollower).
            state.ForkCheckedAtMs = NowMs;
            var group = state.Name;
            var key = MeshKeys.LogEntry(group, head.Index);
            LogForkSeen(MemberName(frame.PeerId), head.Index, group);
            _ = Background($"reading entry {head.Index} of the log of '{group}'", async ct =>
            {
                if (await _logStore.GetAsync(key, ct) is { } held)
                {
                    Post(new SessionInput.LogChanged(group, [new KeyChange(key, false, held.Value, held.ModRevision, 0)]));
                }
            });
        }
    }

    /// <summary>How often a member's beat naming another log head makes this peer read etcd's entry there.</summary>
    private static readonly TimeSpan ForkCheckEvery = TimeSpan.FromSeconds(2);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 541, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "{Member} follows another entry at index {Index} of the log of '{Group}': reading etcd's")]
    private partial void LogForkSeen(string member, long index, string group);

    /// <summary>Each member's link and round trip, for the chat screen's member pane (not written headless: /members
    /// gives the same on request). Said when a state changes or a round trip moves by a tenth.</summary>
    private void ReportHealth()
    {
        var now = LinkRtt.NowUs;
        var members = _groups.Values.SelectMany(g => g.Members.Keys).ToHashSet(StringComparer.Ordinal);
        Rtt.Keep(members);
        var health = members.Select(p => new LinkHealthEvent.Entry(p, LinkWord(p), Rtt.Of(p, now))).OrderBy(e => e.PeerId, StringComparer.Ordinal).ToList();
        _instruments.LinkRtts(health.Where(e => e.Rtt is not null && e.Link == "up")
            .Select(e => (e.PeerId, MemberName(e.PeerId), Math.Round(e.Rtt!.Value.TotalMilliseconds, 3))).ToList());
        if (_healthReported is { } last && last.Count == health.Count && last.Zip(health).All(pair => Same(pair.First, pair.Second)))
        {
            return;
        }

        _healthReported = health;
        Emit(new LinkHealthEvent(health));

        static bool Same(LinkHealthEvent.Entry a, LinkHealthEvent.Entry b) =>
            a.PeerId == b.PeerId && a.Link == b.Link && (a.Rtt, b.Rtt) switch
            {
                (null, null) => true,
                ({ } x, { } y) => Math.Abs(x.TotalMilliseconds - y.TotalMilliseconds) <= Math.Max(0.05, 0.1 * x.TotalMilliseconds),
                _ => false,
            };
    }

    private List<LinkHealthEvent.Entry>? _healthReported;

    /// <summary>A member's name as its record gives it (its id when no group knows it).</summary>
    private string MemberName(string peerId) =>
        _groups.Values.Select(g => g.Members.GetValueOrDefault(peerId)).FirstOrDefault(m => m is not null)?.Name ?? peerId;

    /// <summary>A link's state in the words the screen and /members use.</summary>
    private string LinkWord(string peerId) => _links.StateOf(peerId) switch
    {
        LinkState.Up => "up",
        LinkState.Connecting => "connecting",
        LinkState.Down => "down",
        LinkState.Reconnecting => "reconnecting",
        LinkState.Quarantined => "cut (sent junk)",
        _ => "not linked",
    };

    /// <summary>Links went down or came back: what was sent meanwhile is in history only.</summary>
    private void NoteLinkGap(string peerId)
    {
        foreach (var state in _groups.Values.Where(g => g.Members.ContainsKey(peerId)))
        {
            state.Sweep?.NoteGap();
        }
    }

    private void SweepWhereDue()
    {
        var now = NowMs;
        foreach (var state in _groups.Values)
        {
            if (!state.Connected || state.Sweep is not { } sweep)
            {
                continue;
            }

            sweep.LinksDown = state.Members.Keys.Any(p => !_links.IsUp(p));
            if (sweep.Due(now))
            {
                StartSweep(state, sweep, now);
            }
        }
    }

    /// <summary>Lists, in the background, the names written since the copy's revision; the loop picks those it lacks.</summary>
    private void StartSweep(GroupState state, HistorySweep sweep, long now)
    {
        sweep.Start(now);
        var group = state.Name;
        var from = state.CopyRevision;
        _ = RetryUntilDone.RunAsync(async ct =>
        {
            var names = new List<string>();
            var revision = await _history.ReadNamesSinceAsync(group, from, page =>
            {
                names.AddRange(page);
                return ValueTask.CompletedTask;
            }, ct);
            Post(new SessionInput.HistoryNames(group, names, revision));
        },
        (reason, _) => LogSweepFailing(group, reason),
        null, _stop.Token);
    }

    private void OnHistoryNames(SessionInput.HistoryNames listed)
    {
        if (!_groups.TryGetValue(listed.Group, out var state) || !state.Connected || state.Sweep is not { } sweep)
        {
            return;
        }

        var lacking = listed.Names.Where(name => !Envelope.TryParseHistoryName(name, out var peerId, out var epoch, out var seq)
            || !state.Orderer.Holds(peerId, epoch, seq)).ToList();
        if (lacking.Count == 0)
        {
            CompleteSweep(state, sweep, listed.Revision, found: 0);
            return;
        }

        var group = listed.Group;
        _ = RetryUntilDone.RunAsync(async ct =>
        {
            foreach (var batch in lacking.Chunk(EtcdHistoryStore.PageSize))
            {
                Post(new SessionInput.HistoryFetched(group, await _history.GetAsync(group, batch, ct), null));
            }

            Post(new SessionInput.HistoryFetched(group, [], listed.Revision));
        },
        (reason, _) => LogSweepFailing(group, reason),
        null, _stop.Token);
    }

    private void CompleteSweep(GroupState state, HistorySweep sweep, long revision, long found)
    {
        state.CopyRevision = Math.Max(state.CopyRevision, revision);
        FlushCopy();
        _local.Append(state.Name, [], state.CopyRevision);
        sweep.Complete(NowMs, found > 0);
        if (found > 0)
        {
            LogTookFromHistory(found, state.Name);
        }
    }

    /// <summary>Keeps a live message for the local copy (the bytes published are the bytes etcd stores).</summary>
    private void CopyLive(string group, string name, byte[] payload)
    {
        if (!_copyPending.TryGetValue(group, out var pending))
        {
            _copyPending[group] = pending = [];
        }

        pending.Add(new HistoryEntry(group, name, payload));
        if (!_copyFlushQueued && _node.OnLoop)
        {
            // Once the loop has taken the frames at hand (a socket's batch), they go to disk in one write.
            _copyFlushQueued = true;
            _ = Task.Factory.StartNew(FlushCopy, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _node.Loop);
        }
    }

    private bool _copyFlushQueued;

    private void FlushCopy()
    {
        _copyFlushQueued = false;
        foreach (var (group, pending) in _copyPending)
        {
            if (pending.Count > 0 && _groups.TryGetValue(group, out var state))
            {
                // Live entries carry no revision: the copy's revision moves only when a sweep read etcd up to one.
                _local.Append(group, pending, state.CopyRevision);
            }

            pending.Clear();
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 517, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "history of '{Group}': reading what the live path missed failed ({Reason}); retrying")]
    private partial void LogSweepFailing(string group, string reason);
}
