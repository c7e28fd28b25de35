namespace Mesh.Coordinator.Etcd;

/// <summary>Runs a repair (a re-read after a compaction, a write-back) until it succeeds, with back-off, reporting
/// the first failure and the recovery: a repair that fails once is never silently given up.</summary>
public static class RetryUntilDone
{
    /// <summary>Tries <paramref name="attempt"/> until it completes or <paramref name="ct"/> is cancelled.</summary>
    /// <param name="attempt">One try; any exception counts as a failure to retry.</param>
    /// <param name="onFailing">Called once when the attempts start failing, with the reason and the next delay.</param>
    /// <param name="onRecovered">Called once when an attempt succeeds after failures.</param>
    /// <param name="ct">Stops retrying.</param>
    /// <param name="backoff">Delays between tries (200 ms doubling to 5 s by default).</param>
    /// <returns>True when the attempt succeeded; false when cancelled first.</returns>
    public static async Task<bool> RunAsync(
        Func<CancellationToken, Task> attempt,
        Action<string, TimeSpan> onFailing,
        Action? onRecovered,
        CancellationToken ct,
        Backoff? backoff = null)
    {
        backoff ??= new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
        var failing = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await attempt(ct).ConfigureAwait(false);
                if (failing)
                {
                    onRecovered?.Invoke();
                }

                return true;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception e)
            {
                var delay = backoff.Next();
                if (!failing)
                {
                    failing = true;
                    onFailing(e.Message, delay);
                }

                try
                {
                    await Task.Delay(delay, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
        }

        return false;
    }
}
