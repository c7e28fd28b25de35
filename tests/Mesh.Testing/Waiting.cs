using System.Diagnostics;

namespace Mesh.Testing;

/// <summary>Waiting for a condition with a timeout: the only way tests synchronise.</summary>
public static class Waiting
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? detail = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}{(detail is null ? "" : ": " + detail())}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>As above, for a condition that has to ask something (a server, a process) to know.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? detail = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}{(detail is null ? "" : ": " + detail())}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Lets a fault last until <paramref name="since"/> shows <paramref name="length"/>: how long a cut lasts, not
    /// a wait for something to happen.</summary>
    public static async Task UntilElapsedAsync(Stopwatch since, TimeSpan length)
    {
        var left = length - since.Elapsed;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }
    }
}
