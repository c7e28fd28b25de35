using System.Globalization;
using Mesh.Coordinator.History;

namespace Mesh.Peer.Protocol;

/// <summary>A history key under a group's prefix: one message (named <see cref="Envelope.HistoryName"/>, its value the
/// envelope), or one frame of a sender's burst (named for its <em>last</em> message, with <c>~</c> and how many it holds,
/// its value a <see cref="BurstFrame"/> of the burst's envelopes in order).</summary>
/// <remarks>
/// Named for the last message, a key sorts at or after a bound exactly when one of its messages does: retention deletes
/// a key only once all its messages are past the bound, and counts of keys from a bound on mean the same in etcd and in a
/// copy. A burst key's name and contents must agree (one group, sender and run, consecutive numbers, one signature, the
/// last message named as the key says, as many as it says): anything else is an etcd writer's and costs that key, before
/// any signature is checked.
/// </remarks>
public static class HistoryKey
{
    /// <summary>Between a burst key's last message name and its count: sorts after every character of a name.</summary>
    public const char CountMark = '~';

    /// <summary>The name of a key holding these messages (in order): the message's own name when there is one.</summary>
    public static string Name(IReadOnlyList<string> messageNames) => messageNames.Count == 1
        ? messageNames[0]
        : string.Create(CultureInfo.InvariantCulture, $"{messageNames[^1]}{CountMark}{messageNames.Count:D3}");

    /// <summary>How many messages a key's name says it holds (1 for a name that is not a burst key's).</summary>
    public static int MessageCount(string name) => TryParse(name, out _, out _, out var first, out var last) ? (int)(last - first + 1) : 1;

    /// <summary>Sender, run and the numbers a key's name claims (one message: first == last), without reading its value;
    /// false when the name is not one a peer makes.</summary>
    public static bool TryParse(string name, out string peerId, out long epoch, out long firstSeq, out long lastSeq)
    {
        firstSeq = lastSeq = 0;
        var mark = name.IndexOf(CountMark, StringComparison.Ordinal);
        var count = 1;
        if (mark >= 0)
        {
            var digits = name.AsSpan(mark + 1);
            if (digits.Length != 3 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 2 or > BurstFrame.MaxParts)
            {
                peerId = "";
                epoch = 0;
                return false;
            }
        }

        if (!Envelope.TryParseHistoryName(mark >= 0 ? name[..mark] : name, out peerId, out epoch, out lastSeq) || lastSeq - count + 1 < 1)
        {
            return false;
        }

        firstSeq = lastSeq - count + 1;
        return true;
    }

    /// <summary>The messages a key holds, each with its own name, in order; null when the key is malformed (its name and
    /// contents disagree). A one-message key is handed over as it is: whoever opens it checks its name.</summary>
    public static List<HistoryEntry>? TryExpand(HistoryEntry key)
    {
        var mark = key.Name.IndexOf(CountMark, StringComparison.Ordinal);
        if (mark < 0)
        {
            return BurstFrame.IsBurst(key.Value) ? null : [key];
        }

        if (!TryParse(key.Name, out var peerId, out var epoch, out var firstSeq, out var lastSeq)
            || BurstFrame.TrySplit(key.Value) is not { } parts || parts.Count != lastSeq - firstSeq + 1)
        {
            return null;
        }

        var messages = new List<HistoryEntry>(parts.Count);
        byte[]? signature = null;
        for (var i = 0; i < parts.Count; i++)
        {
            if (EnvelopeCodec.TryParse(parts[i]) is not { } sealedPart || sealedPart.Group != key.Group || sealedPart.PeerId != peerId
                || sealedPart.Epoch != epoch || sealedPart.Seq != firstSeq + i)
            {
                return null;
            }

            // One signature for the key: a burst frame is one burst (checked once), never a collection of many.
            if (signature is null)
            {
                signature = sealedPart.Signature;
            }
            else if (!signature.AsSpan().SequenceEqual(sealedPart.Signature))
            {
                return null;
            }

            var name = sealedPart.HistoryName;
            if (messages.Count > 0 && string.CompareOrdinal(messages[^1].Name, name) >= 0)
            {
                return null;
            }

            messages.Add(new HistoryEntry(key.Group, name, parts[i]) { Revision = key.Revision });
        }

        return messages[^1].Name.AsSpan().SequenceEqual(key.Name.AsSpan(0, mark)) ? messages : null;
    }

    /// <summary>The messages of <paramref name="keys"/>, in name order (every view's order), each name once;
    /// <paramref name="malformed"/> counts the keys that were not well formed (their messages are left out).</summary>
    /// <param name="parallel">Take the keys apart on every core: only off the loop (the caller would wait for the pool).</param>
    public static List<HistoryEntry> ExpandAll(IReadOnlyList<HistoryEntry> keys, out int malformed, bool parallel = false)
    {
        malformed = 0;
        var messages = new List<HistoryEntry>(keys.Count);
        var ascending = true;
        // Each key is checked on its own (headers parsed, no cryptography): on every core for a long history.
        var expanded = !parallel || keys.Count < 64
            ? keys.Select(TryExpand).ToList()
            : keys.AsParallel().AsOrdered().WithDegreeOfParallelism(Runtime.SpinFreeRuntime.Cores).Select(TryExpand).ToList();
        foreach (var held in expanded)
        {
            if (held is null)
            {
                malformed++;
                continue;
            }

            foreach (var message in held)
            {
                ascending &= messages.Count == 0 || string.CompareOrdinal(messages[^1].Name, message.Name) < 0;
                messages.Add(message);
            }
        }

        if (ascending)
        {
            return messages;
        }

        // Burst keys sort by their last message: others' messages sent meanwhile come before the burst's first ones.
        messages.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var unique = new List<HistoryEntry>(messages.Count);
        foreach (var message in messages)
        {
            if (unique.Count == 0 || unique[^1].Name != message.Name)
            {
                unique.Add(message);
            }
            else
            {
                // A message held twice (put back alone beside its burst, or its tombstone beside the original): a
                // delete never comes undone.
                unique[^1] = Tombstone.Prefer(unique[^1], message);
            }
        }

        return unique;
    }
}
