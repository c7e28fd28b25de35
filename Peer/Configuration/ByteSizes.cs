using System.Globalization;

namespace Mesh.Peer.Configuration;

/// <summary>Sizes typed by people: bytes (<c>2147483648</c>) or a whole number with KiB, MiB or GiB (<c>2GiB</c>).</summary>
public static class ByteSizes
{
    /// <summary>Parses <paramref name="text"/>; a usage error naming <paramref name="flag"/> and the bounds otherwise.</summary>
    public static long Parse(string flag, string text, long min, long max)
    {
        var t = text.Trim();
        var (digits, unit) = t.EndsWith("GiB", StringComparison.OrdinalIgnoreCase) ? (t[..^3], 1L << 30)
            : t.EndsWith("MiB", StringComparison.OrdinalIgnoreCase) ? (t[..^3], 1L << 20)
            : t.EndsWith("KiB", StringComparison.OrdinalIgnoreCase) ? (t[..^3], 1L << 10)
            : (t, 1L);
        if (!long.TryParse(digits.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > max / unit || n * unit < min)
        {
            throw new MeshException($"{flag} '{Naming.Printable(text)}': give bytes or a whole number with KiB, MiB or GiB, from {Format(min)} to {Format(max)}", 2);
        }

        return n * unit;
    }

    public static string Format(long bytes) =>
        bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB" : bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";
}
