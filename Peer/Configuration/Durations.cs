using System.Globalization;

namespace Mesh.Peer.Configuration;

/// <summary>Durations typed by people: a whole number and a unit, <c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>.</summary>
public static class Durations
{
    /// <summary>Parses <paramref name="text"/>; a usage error naming <paramref name="flag"/> and the bounds otherwise.</summary>
    public static TimeSpan Parse(string flag, string text, TimeSpan min, TimeSpan max)
    {
        var t = text.Trim();
        TimeSpan? value = null;
        if (t.Length >= 2 && long.TryParse(t[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 100_000)
        {
            value = t[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            };
        }

        if (value is not { } v || v < min || v > max)
        {
            throw new MeshException($"{flag} '{Naming.Printable(text)}': give a whole number with s, m, h or d, from {Format(min)} to {Format(max)}", 2);
        }

        return v;
    }

    private static string Format(TimeSpan t) => t.TotalDays >= 1 ? $"{t.TotalDays:0}d" : t.TotalHours >= 1 ? $"{t.TotalHours:0}h" : $"{t.TotalMinutes:0}m";
}
