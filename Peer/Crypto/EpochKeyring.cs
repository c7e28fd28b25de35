using Mesh.Peer.Configuration;

namespace Mesh.Peer.Crypto;

/// <summary>The keys of every epoch of the groups this home belongs to, in memory, backed by
/// <see cref="EpochKeyFiles"/>. One owner: the session's loop (or a command that runs without one).</summary>
/// <remarks>
/// Without a writer every change is written before it returns, and a group's keys are read on first use. Once
/// <see cref="WriteThrough"/> gave it one (the session's home writer), changes take effect in memory at once and their
/// files are written on the writer's thread, in order; a group's keys should then be read there first
/// (<see cref="LoadAsync"/>), so that <see cref="Of"/> never touches the disk.
/// </remarks>
public sealed class EpochKeyring(string home)
{
    private readonly Dictionary<string, SortedDictionary<long, GroupKey>> _loaded = new(StringComparer.Ordinal);
    private IKeyFileWriter? _writer;

    /// <summary>Where the keys are kept on disk (for the writer that writes them).</summary>
    public EpochKeyFiles Files { get; } = new(home);

    /// <summary>From now on file writes go to <paramref name="writer"/> instead of happening on the caller's thread.</summary>
    public void WriteThrough(IKeyFileWriter writer) => _writer = writer;

    /// <summary>Whether this home holds a group key of the format before group logs (<c>keys/G.key</c>).</summary>
    public bool HasOldKey(string group) => Files.HasOldKey(group);

    /// <summary>The keys held for <paramref name="group"/>, by epoch (empty when none). A group not loaded yet is read
    /// now, on the caller's thread.</summary>
    public IReadOnlyDictionary<long, GroupKey> Of(string group) => Held(group);

    public GroupKey? TryGet(string group, long epoch) => Held(group).GetValueOrDefault(epoch);

    /// <summary>Reads the keys of <paramref name="group"/> into memory, on the writer's thread when there is one, after
    /// the writes handed to it before; nothing to do when they are in memory already.</summary>
    public async Task LoadAsync(string group)
    {
        if (_loaded.ContainsKey(group))
        {
            return;
        }

        var keys = _writer is null ? Files.Read(group) : await _writer.LoadKeysAsync(group);
        // Read on the writer meanwhile, or saved here meanwhile (which read them first): memory is never replaced.
        _loaded.TryAdd(group, keys);
    }

    /// <summary>Moves this home's keys of <paramref name="group"/> into <paramref name="aside"/> (kept, never deleted);
    /// the group then holds no key. Without a writer only: a writer moves them in order with its writes
    /// (<see cref="MoveAsideAsync"/>).</summary>
    public void MoveAside(string group, string aside)
    {
        if (_writer is not null)
        {
            throw new InvalidOperationException("the keys are written through a writer: move them aside with MoveAsideAsync");
        }

        Files.MoveAside(group, aside);
        _loaded[group] = [];
    }

    /// <summary>Moves this home's keys of <paramref name="group"/> into <paramref name="aside"/> (kept, never deleted)
    /// after the writes handed over before; the group holds no key once it is done. A failure is thrown, and the keys
    /// stay.</summary>
    public async Task MoveAsideAsync(string group, string aside)
    {
        if (_writer is null)
        {
            MoveAside(group, aside);
            return;
        }

        await _writer.MoveKeysAsideAsync(group, aside);
        _loaded[group] = [];
    }

    /// <summary>Adds epoch keys and writes the file atomically (0600). A key held for an epoch is never replaced by
    /// another: that would make everything sealed under it unreadable.</summary>
    public void Save(string group, IEnumerable<(long Epoch, GroupKey Key)> added)
    {
        var keys = Held(group);
        foreach (var (epoch, key) in added)
        {
            if (keys.TryGetValue(epoch, out var held) && !held.Material.AsSpan().SequenceEqual(key.Material))
            {
                throw new MeshException($"{Files.PathOf(group)} already holds another key for epoch {epoch} of '{group}': not replacing it");
            }

            keys[epoch] = key;
        }

        Write(group, keys);
    }

    /// <summary>Takes the key of <paramref name="epoch"/> out of use (the group log went on with another entry starting
    /// that epoch, with another key): it is kept in <c>HOME/keys/G.retired</c>, never deleted, and no longer sealed under.</summary>
    public void Retire(string group, long epoch)
    {
        var keys = Held(group);
        if (!keys.Remove(epoch, out var key))
        {
            return;
        }

        if (_writer is null)
        {
            Files.WriteRetired(group, epoch, key);
        }
        else
        {
            _writer.RetireKey(group, epoch, key);
        }

        Write(group, keys);
    }

    private SortedDictionary<long, GroupKey> Held(string group)
    {
        if (!_loaded.TryGetValue(group, out var keys))
        {
            _loaded[group] = keys = Files.Read(group);
        }

        return keys;
    }

    private void Write(string group, SortedDictionary<long, GroupKey> keys)
    {
        if (_writer is null)
        {
            Files.Write(group, keys);
        }
        else
        {
            _writer.SaveKeys(group, keys);
        }
    }
}
