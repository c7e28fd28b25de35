using System.Text.Json;

namespace Mesh.Peer.Identity;

/// <summary>Trust on first use: the signing-key fingerprint first seen for each name, kept in HOME/known_peers.json.</summary>
/// <remarks>Names are chosen freely, so a name is no proof of who speaks; what this catches is a familiar name that
/// shows up with a different key, which the user is warned about.</remarks>
public sealed class KnownPeers
{
    private readonly string _path;
    private readonly Dictionary<string, string> _fingerprints;
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);

    public KnownPeers(string home)
    {
        _path = Path.Combine(home, "known_peers.json");
        _fingerprints = Load(_path);
    }

    /// <summary>Records the name's key on first sight; returns a warning when a known name comes with another key.</summary>
    public string? Check(string name, string fingerprint)
    {
        if (_fingerprints.TryGetValue(name, out var known))
        {
            if (known == fingerprint || !_warned.Add(name + "/" + fingerprint))
            {
                return null;
            }

            return $"warning: '{name}' now signs with key {fingerprint}, but was first seen with {known}: it may be someone else using that name";
        }

        _fingerprints[name] = fingerprint;
        try
        {
            File.WriteAllText(_path, JsonSerializer.Serialize(_fingerprints));
        }
        catch (IOException)
        {
            // Losing the record only means the next run trusts on first use again.
        }

        return null;
    }

    private static Dictionary<string, string> Load(string path)
    {
        try
        {
            return File.Exists(path)
                ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? new(StringComparer.Ordinal)
                : new(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return new(StringComparer.Ordinal);
        }
    }
}
