namespace Mesh.Coordinator.Etcd;

/// <summary>Capped exponential back-off with full jitter, for loops that retry a remote call.</summary>
public sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    private int _failures;

    public int Failures => _failures;

    /// <summary>The delay before the next attempt; each call counts one more consecutive failure.</summary>
    public TimeSpan Next()
    {
        var exponent = Math.Min(_failures++, 16);
        var cap = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, exponent));
        // Half fixed, half random: spreads retries of many peers without ever retrying at once.
        return TimeSpan.FromMilliseconds(cap / 2 + Random.Shared.NextDouble() * cap / 2);
    }

    public void Reset() => _failures = 0;
}
