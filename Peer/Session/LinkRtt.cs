using System.Diagnostics;
using Mesh.Peer.Protocol;

namespace Mesh.Peer.Session;

/// <summary>Round-trip times to members, measured on the beats (see <see cref="MemberBeat"/>): each beat carries its
/// send time and echoes the last beat heard from each member with how long it was held; a beat of mine that comes
/// back echoed gives the time there and back, less the hold. Both readings are on this peer's monotonic clock, so
/// the members' clocks need not agree. Session loop only.</summary>
/// <remarks>An echo is taken only for a send time this peer really used (the last few are kept): a member cannot
/// make up a round trip, only delay its echo, which shows as its own link being slow.</remarks>
internal sealed class LinkRtt
{
    /// <summary>A reading older than this is no reading: the member stopped echoing. Beats of an idle group leave
    /// every <see cref="BeatSchedule.Quiet"/>, and a round trip takes a beat each way.</summary>
    public static readonly TimeSpan Stale = BeatSchedule.Quiet * 2.5;

    private const int SentKept = 16;

    private readonly string _myPrefix;
    private readonly Dictionary<string, (long SentUs, long HeardUs)> _heard = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Queue<long> Samples, long AtUs)> _rtt = new(StringComparer.Ordinal);

    /// <summary>Readings a member's round trip is the median of: one slow beat (a pause, a first run) does not
    /// show, a change that lasts shows within a few seconds.</summary>
    private const int Samples = 5;
    private readonly Queue<long> _sent = new();
    private readonly HashSet<long> _sentSet = [];

    public LinkRtt(string myPeerId) => _myPrefix = Prefix(myPeerId);

    public static string Prefix(string peerId) => peerId.Length >= MemberBeat.PeerPrefix ? peerId[..MemberBeat.PeerPrefix] : peerId;

    /// <summary>Microseconds of the monotonic clock.</summary>
    public static long NowUs => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);

    /// <summary>The send time for my next beat, with the echoes of what I heard from <paramref name="members"/>.</summary>
    public (long SentUs, List<MemberBeat.Echo> Echoes) NextBeat(IEnumerable<string> members, long nowUs)
    {
        if (_sentSet.Add(nowUs))
        {
            _sent.Enqueue(nowUs);
            while (_sent.Count > SentKept)
            {
                _sentSet.Remove(_sent.Dequeue());
            }
        }

        var echoes = new List<MemberBeat.Echo>();
        foreach (var peerId in members)
        {
            if (echoes.Count == MemberBeat.MaxEchoes)
            {
                break;
            }

            if (_heard.TryGetValue(peerId, out var heard) && nowUs - heard.HeardUs < Stale.TotalMicroseconds)
            {
                echoes.Add(new MemberBeat.Echo(Prefix(peerId), heard.SentUs, nowUs - heard.HeardUs));
            }
        }

        return (nowUs, echoes);
    }

    /// <summary>A beat from <paramref name="peerId"/> (its link authenticated it) heard at <paramref name="nowUs"/>.</summary>
    public void OnBeat(string peerId, MemberBeat beat, long nowUs)
    {
        if (beat.SentUs is { } sent)
        {
            _heard[peerId] = (sent, nowUs);
        }

        foreach (var echo in beat.Echoes)
        {
            if (echo.Peer != _myPrefix || !_sentSet.Contains(echo.SentUs))
            {
                continue;
            }

            var rtt = nowUs - echo.SentUs - echo.HeldUs;
            if (rtt < 0 || rtt > Stale.TotalMicroseconds)
            {
                continue;
            }

            if (!_rtt.TryGetValue(peerId, out var kept) || nowUs - kept.AtUs >= Stale.TotalMicroseconds)
            {
                kept = (new Queue<long>(), nowUs);
            }

            kept.Samples.Enqueue(rtt);
            while (kept.Samples.Count > Samples)
            {
                kept.Samples.Dequeue();
            }

            _rtt[peerId] = (kept.Samples, nowUs);
            break;
        }
    }

    /// <summary>The round trip to a member (the median of its last readings), or null when none was measured lately.</summary>
    public TimeSpan? Of(string peerId, long nowUs)
    {
        if (!_rtt.TryGetValue(peerId, out var rtt) || nowUs - rtt.AtUs >= Stale.TotalMicroseconds)
        {
            return null;
        }

        var sorted = rtt.Samples.Order().ToList();
        return TimeSpan.FromMicroseconds(sorted[(sorted.Count - 1) / 2]);
    }

    /// <summary>Forgets members no longer followed.</summary>
    public void Keep(IReadOnlySet<string> members)
    {
        foreach (var peerId in _heard.Keys.Where(p => !members.Contains(p)).ToList())
        {
            _heard.Remove(peerId);
        }

        foreach (var peerId in _rtt.Keys.Where(p => !members.Contains(p)).ToList())
        {
            _rtt.Remove(peerId);
        }
    }
}
