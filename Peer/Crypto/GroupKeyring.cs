using Mesh.Peer.Configuration;

namespace Mesh.Peer.Crypto;

/// <summary>The group keys this peer holds, one 0600 file per group under <c>HOME/keys/</c>.</summary>
public sealed class GroupKeyring(string home)
{
    private readonly Dictionary<string, GroupKey> _loaded = new(StringComparer.Ordinal);

    private string PathOf(string group) => Path.Combine(home, "keys", group + ".key");

    /// <summary>The key of <paramref name="group"/>, or null when this peer has not been admitted to it.</summary>
    public GroupKey? TryGet(string group)
    {
        if (_loaded.TryGetValue(group, out var key))
        {
            return key;
        }

        var path = PathOf(group);
        if (SecretFile.Read(path) is not { } encoded)
        {
            return null;
        }

        try
        {
            key = GroupKey.FromMaterial(Convert.FromBase64String(encoded));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new MeshException($"{path} does not hold a group key (expected {GroupKey.Size} bytes, base64)");
        }

        _loaded[group] = key;
        return key;
    }

    public void Save(string group, GroupKey key)
    {
        var directory = Path.Combine(home, "keys");
        if (!System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        SecretFile.Write(PathOf(group), Convert.ToBase64String(key.Material));
        _loaded[group] = key;
    }
}
