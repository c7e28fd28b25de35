namespace Mesh.Peer.Crypto;

/// <summary>Takes an <see cref="EpochKeyring"/>'s file work off its owner's thread, in the order handed over (the
/// session's <c>HomeWriter</c>): the keyring's memory changes at once, its files a little later.</summary>
public interface IKeyFileWriter
{
    /// <summary>Writes the keys of <paramref name="group"/>: a snapshot taken now, so later changes do not race the
    /// write. A failure is reported by the writer; the next save writes every key again.</summary>
    void SaveKeys(string group, IReadOnlyDictionary<long, GroupKey> keys);

    /// <summary>Keeps a key taken out of use in <c>G.retired</c>.</summary>
    void RetireKey(string group, long epoch, GroupKey key);

    /// <summary>Moves the keys file of <paramref name="group"/> aside once the writes handed over before are done;
    /// the task carries a failure.</summary>
    Task MoveKeysAsideAsync(string group, string aside);

    /// <summary>Reads the keys of <paramref name="group"/> after the writes handed over before.</summary>
    Task<SortedDictionary<long, GroupKey>> LoadKeysAsync(string group);
}
