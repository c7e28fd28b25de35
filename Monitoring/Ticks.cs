namespace Mesh.Monitoring;

/// <summary>Waiting for a periodic timer's next tick, where a stop is the end of the loop rather than an error.</summary>
public static class Ticks
{
    /// <summary>True at the next tick; false once <paramref name="ct"/> is cancelled or the timer is disposed.</summary>
    public static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
