namespace Mesh.Testing;

/// <summary>etcd's key order (by UTF-8 bytes, which is by code point) for keys held as strings, with a top that sorts
/// after every key (the open end of a range).</summary>
/// <remarks>Ordinal order of UTF-16 differs from code point order only where a surrogate meets a unit from U+E000 up.</remarks>
internal sealed class KeyOrder : IComparer<string>
{
    public static readonly KeyOrder Instance = new();

    /// <summary>Sorts after every key: compared by reference, never equal to a key.</summary>
    public static readonly string Top = new('\uffff', 1);

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (ReferenceEquals(x, Top) || y is null)
        {
            return 1;
        }

        if (ReferenceEquals(y, Top) || x is null)
        {
            return -1;
        }

        var shared = Math.Min(x.Length, y.Length);
        for (var i = 0; i < shared; i++)
        {
            if (x[i] != y[i])
            {
                return CodePointRank(x[i]) - CodePointRank(y[i]);
            }
        }

        return x.Length - y.Length;
    }

    private static int CodePointRank(char c) => c >= '\ue000' ? c - 0x800 : c >= '\ud800' ? c + 0x2000 : c;
}
