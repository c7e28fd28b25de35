namespace Mesh.IntegrationTests;

/// <summary>A wall clock a test sets while the peer runs: libfaketime reads the offset from a file at every reading of
/// the wall clock (FAKETIME_TIMESTAMP_FILE with FAKETIME_NO_CACHE), so that rewriting the file steps the clock at once.
/// The monotonic clock keeps real time.</summary>
public sealed class SteppedClock : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"mesh-clock-{Guid.NewGuid():N}.rc");

    /// <param name="offset">The offset to start with (<c>+0</c>, <c>-1h</c>).</param>
    public SteppedClock(string offset = "+0") => Set(offset);

    /// <summary>The environment of a peer that reads this clock. FAKETIME is left out: it would win over the file.</summary>
    public Dictionary<string, string> Environment => new()
    {
        ["LD_PRELOAD"] = SkewedClock.Library,
        ["FAKETIME_TIMESTAMP_FILE"] = _path,
        ["FAKETIME_NO_CACHE"] = "1",
        ["FAKETIME_DONT_FAKE_MONOTONIC"] = "1",
    };

    /// <summary>Sets the offset from real time (<c>-1h</c>, <c>+1h</c>, <c>+0</c>): whole, never half-written, for a reader
    /// that reads it at any moment.</summary>
    public void Set(string offset)
    {
        var next = _path + ".next";
        File.WriteAllText(next, offset + "\n");
        File.Move(next, _path, overwrite: true);
    }

    public void Dispose() => File.Delete(_path);
}
