using System.Globalization;
using System.Text.Json;
using Mesh.Peer.Configuration;

namespace Mesh.Peer.Crypto;

/// <summary>The files of an <see cref="EpochKeyring"/>: <c>HOME/keys/G.epochs</c> (0600, a JSON object from epoch
/// number to base64 key) and <c>HOME/keys/G.retired</c> (keys taken out of use, kept, never deleted).</summary>
/// <remarks>No state of its own: it may be called from whichever thread writes the home's files.</remarks>
public sealed class EpochKeyFiles(string home)
{
    private string KeysDirectory => Path.Combine(home, "keys");

    public string PathOf(string group) => Path.Combine(KeysDirectory, group + ".epochs");

    /// <summary>Whether this home holds a group key of the format before group logs (<c>keys/G.key</c>).</summary>
    public bool HasOldKey(string group) => File.Exists(Path.Combine(KeysDirectory, group + ".key"));

    /// <summary>The keys held for <paramref name="group"/>, by epoch (empty when none).</summary>
    /// <exception cref="MeshException">The file cannot be read or does not hold keys: one line naming it.</exception>
    public SortedDictionary<long, GroupKey> Read(string group)
    {
        var keys = new SortedDictionary<long, GroupKey>();
        var path = PathOf(group);
        if (SecretFile.Read(path) is not { } text)
        {
            return keys;
        }

        try
        {
            foreach (var (epoch, material) in JsonSerializer.Deserialize<Dictionary<string, string>>(text) ?? [])
            {
                keys[long.Parse(epoch, CultureInfo.InvariantCulture)] = GroupKey.FromMaterial(Convert.FromBase64String(material));
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or OverflowException)
        {
            throw new MeshException($"{path} does not hold group keys (a JSON object of epoch to base64 key)");
        }

        return keys;
    }

    /// <summary>Writes every key of <paramref name="group"/> atomically (0600), replacing the file.</summary>
    public void Write(string group, IReadOnlyDictionary<long, GroupKey> keys)
    {
        EnsureDirectory();
        var text = JsonSerializer.Serialize(keys.ToDictionary(k => k.Key.ToString(CultureInfo.InvariantCulture), k => Convert.ToBase64String(k.Value.Material)));
        SecretFile.Write(PathOf(group), text);
    }

    /// <summary>Adds the key of <paramref name="epoch"/> to <c>G.retired</c>, named by its check.</summary>
    public void WriteRetired(string group, long epoch, GroupKey key)
    {
        var path = Path.Combine(KeysDirectory, group + ".retired");
        var retired = SecretFile.Read(path) is { } text ? JsonSerializer.Deserialize<Dictionary<string, string>>(text) ?? [] : [];
        retired[$"{epoch}:{key.Check(group, epoch)}"] = Convert.ToBase64String(key.Material);
        SecretFile.Write(path, JsonSerializer.Serialize(retired));
    }

    /// <summary>Moves the keys of <paramref name="group"/> into <paramref name="aside"/> (kept, never deleted).</summary>
    public void MoveAside(string group, string aside)
    {
        if (File.Exists(PathOf(group)))
        {
            Directory.CreateDirectory(aside, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.Move(PathOf(group), Path.Combine(aside, group + ".epochs"));
        }
    }

    private void EnsureDirectory()
    {
        if (!Directory.Exists(KeysDirectory))
        {
            Directory.CreateDirectory(KeysDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
