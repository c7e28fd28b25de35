using System.Text.Json;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Crypto;

/// <summary>The keys of every epoch of the groups this home belongs to: one 0600 file per group,
/// <c>HOME/keys/G.epochs</c>, a JSON object from epoch number to base64 key.</summary>
public sealed class EpochKeyring(string home)
{
    private readonly Dictionary<string, SortedDictionary<long, GroupKey>> _loaded = new(StringComparer.Ordinal);

    private string PathOf(string group) => Path.Combine(home, "keys", group + ".epochs");

    /// <summary>Whether this home holds a group key of the format before group logs (<c>keys/G.key</c>).</summary>
    public bool HasOldKey(string group) => File.Exists(Path.Combine(home, "keys", group + ".key"));

    /// <summary>The keys held for <paramref name="group"/>, by epoch (empty when none).</summary>
    public IReadOnlyDictionary<long, GroupKey> Of(string group)
    {
        if (_loaded.TryGetValue(group, out var keys))
        {
            return keys;
        }

        keys = [];
        var path = PathOf(group);
        if (SecretFile.Read(path) is { } text)
        {
            try
            {
                foreach (var (epoch, material) in JsonSerializer.Deserialize<Dictionary<string, string>>(text) ?? [])
                {
                    keys[long.Parse(epoch, System.Globalization.CultureInfo.InvariantCulture)] = GroupKey.FromMaterial(Convert.FromBase64String(material));
                }
            }
            catch (Exception e) when (e is JsonException or FormatException or ArgumentException or OverflowException)
            {
                throw new MeshException($"{path} does not hold group keys (a JSON object of epoch to base64 key)");
            }
        }

        _loaded[group] = keys;
        return keys;
    }

    public GroupKey? TryGet(string group, long epoch) => Of(group).GetValueOrDefault(epoch);

    /// <summary>Moves this home's keys of <paramref name="group"/> into <paramref name="aside"/> (kept, never deleted).</summary>
    public void MoveAside(string group, string aside)
    {
        _loaded.Remove(group);
        if (File.Exists(PathOf(group)))
        {
            Directory.CreateDirectory(aside, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.Move(PathOf(group), Path.Combine(aside, group + ".epochs"));
        }
    }

    /// <summary>Adds epoch keys and writes the file atomically (0600). A key held for an epoch is never replaced by
    /// another: that would make everything sealed under it unreadable.</summary>
    public void Save(string group, IEnumerable<(long Epoch, GroupKey Key)> added)
    {
        var keys = (SortedDictionary<long, GroupKey>)Of(group);
        foreach (var (epoch, key) in added)
        {
            if (keys.TryGetValue(epoch, out var held) && !held.Material.AsSpan().SequenceEqual(key.Material))
            {
                throw new MeshException($"{PathOf(group)} already holds another key for epoch {epoch} of '{group}': not replacing it");
            }

            keys[epoch] = key;
        }

        var directory = Path.Combine(home, "keys");
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var text = JsonSerializer.Serialize(keys.ToDictionary(k => k.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), k => Convert.ToBase64String(k.Value.Material)));
        SecretFile.Write(PathOf(group), text);
    }

    /// <summary>Takes the key of <paramref name="epoch"/> out of use (the group log went on with another entry starting
    /// that epoch, with another key): it is kept in <c>HOME/keys/G.retired</c>, never deleted, and no longer sealed under.</summary>
    public void Retire(string group, long epoch)
    {
        var keys = (SortedDictionary<long, GroupKey>)Of(group);
        if (!keys.Remove(epoch, out var key))
        {
            return;
        }

        var retiredPath = Path.Combine(home, "keys", group + ".retired");
        var retired = SecretFile.Read(retiredPath) is { } text ? JsonSerializer.Deserialize<Dictionary<string, string>>(text) ?? [] : [];
        retired[$"{epoch}:{key.Check(group, epoch)}"] = Convert.ToBase64String(key.Material);
        SecretFile.Write(retiredPath, JsonSerializer.Serialize(retired));
        Save(group, []);
    }
}
