using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Mesh.Peer.Session;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Headless;

/// <summary>Runs a session for scripts and bots: lines from stdin in, one JSON event per line on stdout.</summary>
public static partial class HeadlessRunner
{
    /// <summary>How long input waits for the first group's <c>ready</c> (admission, history) unless MESH_ADMIT_WAIT
    /// says otherwise.</summary>
    public static readonly TimeSpan DefaultAdmitWait = TimeSpan.FromMinutes(2);

    /// <summary>Where, under the home, events wait that stdout's reader has not taken yet.</summary>
    public const string SpillDirectory = "spill";

    /// <param name="home">The peer's home (its lock held): events stdout's reader falls behind on wait in its
    /// <see cref="SpillDirectory"/>.</param>
    public static async Task<int> RunAsync(ChatSession session, IReadOnlyList<string> groups, JoinRequest request, string home, ILogger log,
        CancellationToken ct, TimeSpan? admitWait = null)
    {
        // Ctrl+C and SIGTERM leave cleanly, exactly like end of input.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; session.PostEndOfInput(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; session.PostEndOfInput(); });

        // Lines go to the first group: stdin is not read until it is ready (admitted, history shown), so that a script
        // piping a file into a peer that still waits for a member to admit it loses nothing. The pipe holds the rest.
        var ready = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var gaveUp = false;
        var output = new SpillingOutput(Console.OpenStandardOutput(), StdoutSpill(home, log), log: log);
        // Events are written on the session's loop as they come, and stdout's own thread writes them: one wake-up a
        // batch, no thread in between.
        session.SendEventsTo(new JsonLinesSink(output, e =>
        {
            if (e is ReadyEvent r && r.Group == groups[0])
            {
                ready.TrySetResult(true);
            }
        }));
        var reader = new Thread(() => gaveUp = !ReadLines(session, groups[0], ready.Task, admitWait ?? DefaultAdmitWait)) { IsBackground = true, Name = "stdin" };
        reader.Start();
        int code;
        try
        {
            code = await session.RunAsync(groups, request, ct);
        }
        finally
        {
            try
            {
                await session.DisposeAsync();
            }
            finally
            {
                // The session ended (it could not join, or it left): nothing waits for input any more.
                ready.TrySetResult(false);
            }

            // The peer exits once stdout has taken everything, and a stdout that failed fails the run.
            await output.Completion;
        }

        return gaveUp && code == 0 ? 1 : code;
    }

    /// <summary>Reads stdin into the session once <paramref name="group"/> is ready; false when it was not ready in
    /// time (input left unread, one error said, the session told to end).</summary>
    private static bool ReadLines(ChatSession session, string group, Task<bool> ready, TimeSpan wait)
    {
        // Timed on the monotonic clock alone: a timed Task.Wait ends at once when the wall clock is off (libfaketime
        // ahead by an hour returned from it immediately), and a peer must not give up because its clock is wrong.
        var waited = Stopwatch.StartNew();
        while (!ready.IsCompleted && waited.Elapsed < wait)
        {
            Thread.Sleep(100);
        }

        if (!ready.IsCompleted)
        {
            session.PostError($"not ready in '{group}' after {wait.TotalSeconds:F0} s (waiting for a member to admit this peer): input was not read; "
                + "run it again when a member is online (MESH_ADMIT_WAIT sets how long to wait)");
            session.PostEndOfInput();
            return false;
        }

        if (!ready.Result)
        {
            session.PostEndOfInput();
            return true;
        }

        using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false, 64 * 1024);
        while (stdin.ReadLine() is { } line)
        {
            session.PostLine(line);
        }

        session.PostEndOfInput();
        return true;
    }

    /// <summary>This run's spill file for stdout, with what a crashed run left removed (the home's lock makes this run
    /// the only one).</summary>
    private static SpillFile StdoutSpill(string home, ILogger log)
    {
        var directory = Path.Combine(home, SpillDirectory);
        try
        {
            SpillFile.RemoveStale(directory, "stdout-*.jsonl");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            StaleSpillKept(log, directory, e.Message);
        }

        return new SpillFile(Path.Combine(directory, $"stdout-{Environment.ProcessId}.jsonl"));
    }

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning, Message = "cannot remove what an earlier run left in {Directory} ({Reason})")]
    private static partial void StaleSpillKept(ILogger log, string directory, string reason);
}
