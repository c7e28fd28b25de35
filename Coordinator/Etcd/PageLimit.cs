namespace Mesh.Coordinator.Etcd;

/// <summary>How many keys the next page of a range read asks for, so that answers stay near a byte budget whatever
/// etcd holds: etcd bounds a range by keys only, and any etcd writer can put up to 1.5 MiB under every key.</summary>
/// <remarks>
/// It decides; <see cref="BoundedRange"/> asks. An answer over the receive limit halves the page. An answer that came
/// back sizes the next page from its bytes per key, shrinking at once and growing at most twofold a page: a stretch of
/// large values is read in small pages, and the small values after it in large pages again a few pages later.
/// </remarks>
public sealed class PageLimit
{
    /// <summary>The bytes an answer aims at: an eighth of the receive limit (<see cref="EtcdConnection.MaxReceiveBytes"/>),
    /// so that a page sized from small values still fits when the next keys hold large ones.</summary>
    public const long DefaultTargetBytes = 8 * 1024 * 1024;

    /// <param name="max">The most keys a page asks for (where it starts).</param>
    /// <param name="targetBytes">The answer size aimed at.</param>
    public PageLimit(int max, long targetBytes = DefaultTargetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetBytes, 1);
        Max = max;
        TargetBytes = targetBytes;
        Current = max;
    }

    public int Max { get; }

    public long TargetBytes { get; }

    /// <summary>The keys the next page asks for: 1 to <see cref="Max"/>.</summary>
    public int Current { get; private set; }

    /// <summary>The answer to a page of <see cref="Current"/> keys was over the receive limit: halves the page. False
    /// when it is one key already (that key's value alone is over the limit).</summary>
    public bool Shrink()
    {
        if (Current == 1)
        {
            return false;
        }

        Current = Math.Max(1, Current / 2);
        return true;
    }

    /// <summary>An answer came back with <paramref name="keys"/> keys in <paramref name="bytes"/>: sizes the next page.</summary>
    public void Answered(int keys, long bytes)
    {
        if (keys <= 0)
        {
            return;
        }

        var perKey = Math.Max(1, bytes / keys);
        var fits = (int)Math.Clamp(TargetBytes / perKey, 1, Max);
        var grown = (int)Math.Min(Max, Current * 2L);
        Current = Math.Min(fits, grown);
    }
}
