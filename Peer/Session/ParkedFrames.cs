namespace Mesh.Peer.Session;

/// <summary>Frames and history entries that name an epoch key or a log state this peer does not have yet: kept until
/// the log or the keyring catches up, then taken back in the order they came.</summary>
/// <remarks>Bounded in count and bytes, oldest dropped first: what a hostile sender parks cannot grow without end.
/// Safe to use from the loop and from the threads that open a history page at once.</remarks>
internal sealed class ParkedFrames(int maxCount = ParkedFrames.DefaultMaxCount, long maxBytes = ParkedFrames.DefaultMaxBytes)
{
    public const int DefaultMaxCount = 10_000;
    public const long DefaultMaxBytes = 32L * 1024 * 1024;

    /// <summary>One parked item: <paramref name="HistoryName"/> is null for a live frame; <paramref name="Copied"/> for a
    /// live message whose frame the local copy took whole.</summary>
    public readonly record struct Item(string? HistoryName, string PeerId, byte[] Payload, bool Copied = false);

    private readonly Lock _lock = new();
    private readonly Queue<Item> _items = new();
    private long _bytes;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Parks an item; returns how many older ones were dropped to make room (an item larger than the byte
    /// bound on its own is dropped itself, and counted).</summary>
    public int Add(string? historyName, string peerId, byte[] payload, bool copied = false)
    {
        lock (_lock)
        {
            if (payload.Length > maxBytes)
            {
                return 1;
            }

            var dropped = 0;
            while (_items.Count > 0 && (_items.Count >= maxCount || _bytes + payload.Length > maxBytes))
            {
                _bytes -= _items.Dequeue().Payload.Length;
                dropped++;
            }

            _items.Enqueue(new Item(historyName, peerId, payload, copied));
            _bytes += payload.Length;
            return dropped;
        }
    }

    /// <summary>Everything parked, oldest first; the park is empty afterwards.</summary>
    public List<Item> TakeAll()
    {
        lock (_lock)
        {
            var all = _items.ToList();
            _items.Clear();
            _bytes = 0;
            return all;
        }
    }
}
