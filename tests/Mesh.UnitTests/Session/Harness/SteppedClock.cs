namespace Mesh.UnitTests.Session.Harness;

/// <summary>One peer's clock in the harness: the harness's fake time, with a wall clock that a test can set back or
/// forward (as an administrator or NTP does) while the monotonic clock and timers go on undisturbed.</summary>
internal sealed class SteppedClock(TimeProvider inner) : TimeProvider
{
    private long _offsetTicks;

    /// <summary>Sets the wall clock back (negative) or forward by <paramref name="by"/>.</summary>
    public void Step(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);
}
