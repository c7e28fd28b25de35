using System.Text.RegularExpressions;

namespace Mesh.Peer.Configuration;

/// <summary>What a group name and a peer name may be. Both end up in etcd keys and ZeroMQ topics.</summary>
public static partial class Naming
{
    public const int MaxGroupLength = 64;
    public const int MaxNameLength = 32;

    /// <summary>Largest message text, in UTF-8 bytes.</summary>
    public const int MaxTextBytes = 16 * 1024;

    public const string GroupRule = "1-64 characters: letters a-z A-Z, digits, '.', '_' or '-', starting with a letter or digit";
    public const string NameRule = "1-32 characters: letters a-z A-Z, digits, '.', '_' or '-', starting with a letter or digit";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex GroupPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
    private static partial Regex NamePattern();

    public static bool IsValidGroup(string? group) => group is not null && GroupPattern().IsMatch(group);

    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Throws a one-line error when the group name breaks <see cref="GroupRule"/>.</summary>
    public static string RequireGroup(string? group)
    {
        if (!IsValidGroup(group))
        {
            throw new MeshException($"invalid group name '{Printable(group)}': {GroupRule}", 2);
        }

        return group!;
    }

    public static string RequireName(string? name)
    {
        if (!IsValidName(name))
        {
            throw new MeshException($"invalid name '{Printable(name)}': {NameRule}", 2);
        }

        return name!;
    }

    /// <summary>Shortens and de-controls user input before it is echoed in an error line.</summary>
    public static string Printable(string? s)
    {
        if (s is null)
        {
            return "";
        }

        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length > 40 ? clean[..40] + "…" : clean;
    }
}
