using System.Threading.Channels;
using Mesh.Coordinator.Etcd;
using Mesh.Peer.Configuration;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>The one loop that owns a session's state: inputs in two kinds of lanes, handled one at a time on the
/// node's loop thread.</summary>
/// <remarks>
/// Live inputs (frames, link news, ticks, history pages) are handled at once and never wait. Inputs whose handling waits
/// on etcd (typed lines, changes to members, the log and keys) go to the lane of their group: a group's lane takes its
/// work in order, each to its end, while the live lane and every other group's lane go on between its awaits. So a
/// line typed in one group never waits for another group's join, leave or commit, and lines of one group keep their
/// order. End of input waits for every lane, then ends the live lane.
/// </remarks>
internal sealed partial class SessionLoop(ILogger log)
{
    private readonly ILogger _log = log;
    private readonly Channel<SessionInput> _live = Channel.CreateUnbounded<SessionInput>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<SessionInput> _slow = Channel.CreateUnbounded<SessionInput>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Lanes with work in flight: what ends when the lane has nothing left, and what waits behind it.</summary>
    private readonly Dictionary<string, Task> _lanes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<SessionInput>> _queued = new(StringComparer.Ordinal);
    private ISessionHandler? _handler;
    private CancellationToken _ct;

    /// <summary>Hands an input to its lane, from any thread.</summary>
    public void Post(SessionInput input)
    {
        if (IsSlow(input))
        {
            _slow.Writer.TryWrite(input);
        }
        else
        {
            _live.Writer.TryWrite(input);
        }
    }

    /// <summary>Gives the loop the session it runs, before anything is taken: frames and link news from the node are
    /// handled from then on, also while the groups named at start are joined, before <see cref="RunAsync"/>.</summary>
    public void Attach(ISessionHandler handler, CancellationToken ct)
    {
        _handler = handler;
        _ct = ct;
    }

    /// <summary>An input that is on the loop already (a frame or link news from the node): handled now. Before the
    /// session is attached the node has no links, so nothing arrives here.</summary>
    public void TakeNow(SessionInput input)
    {
        if (_handler is not null)
        {
            _ = TakeAsync(input, _ct);
        }
    }

    /// <summary>How many inputs wait in group lanes (for tests and the idle check).</summary>
    public int Queued => _queued.Values.Sum(q => q.Count);

    /// <summary>Takes inputs until end of input has been handled; runs on the loop.</summary>
    public async Task RunAsync(ISessionHandler handler, CancellationToken ct)
    {
        Attach(handler, ct);
        var slow = RunSlowAsync(ct);
        var inputs = _live.Reader;
        while (await inputs.WaitToReadAsync(ct))
        {
            while (inputs.TryRead(out var input))
            {
                if (input is SessionInput.LanesDone)
                {
                    await slow;
                    return;
                }

                // Live inputs are handled without waiting on anything: this completes at once.
                _ = TakeAsync(input, ct);
            }

            handler.Idle();
        }
    }

    /// <summary>Routes slow inputs to their lanes, in order; at end of input waits for every lane, then ends the live lane.</summary>
    private async Task RunSlowAsync(CancellationToken ct)
    {
        var inputs = _slow.Reader;
        try
        {
            while (await inputs.WaitToReadAsync(ct))
            {
                while (inputs.TryRead(out var input))
                {
                    if (input is SessionInput.EndOfInput)
                    {
                        await DrainLanesAsync();
                        await TakeAsync(input, ct);
                        return;
                    }

                    var (lane, work) = _handler!.Route(input);
                    if (work is null)
                    {
                        continue;
                    }

                    if (lane is null)
                    {
                        await DrainLanesAsync();
                        await TakeAsync(work, ct);
                    }
                    else
                    {
                        Enqueue(lane, work);
                    }
                }

                _handler!.Idle();
            }
        }
        finally
        {
            _live.Writer.TryWrite(SessionInput.LanesDone.Instance);
        }
    }

    /// <summary>Takes <paramref name="work"/> now if its lane is idle (so that, when nothing waits, lines are handled in
    /// the order typed across groups too, in the router's turn); behind the lane's work otherwise.</summary>
    private void Enqueue(string lane, SessionInput work)
    {
        if (_queued.TryGetValue(lane, out var queue))
        {
            queue.Enqueue(work);
            return;
        }

        var first = TakeAsync(work, _ct);
        if (first.IsCompleted)
        {
            return;
        }

        _queued[lane] = queue = new Queue<SessionInput>();
        _lanes[lane] = ContinueLaneAsync(lane, first, queue);
    }

    /// <summary>Once the lane's first work has ended, takes what queued behind it, in order, each to its end; the lane
    /// is dropped when it has nothing left.</summary>
    private async Task ContinueLaneAsync(string lane, Task first, Queue<SessionInput> queue)
    {
        try
        {
            await first;
            // Once the session stops, what is still queued is not taken: the way out flushes what was typed.
            while (!_ct.IsCancellationRequested && queue.TryDequeue(out var work))
            {
                await TakeAsync(work, _ct);
                if (queue.Count == 0)
                {
                    _handler!.Idle();
                }
            }
        }
        finally
        {
            _queued.Remove(lane);
            _lanes.Remove(lane);
        }
    }

    /// <summary>Completes once no lane has work in flight (a lane that ended in a failure said so where it failed).</summary>
    public async Task DrainLanesAsync()
    {
        while (_lanes.Count > 0)
        {
            try
            {
                await Task.WhenAll(_lanes.Values.ToList());
            }
            catch (Exception e) when (e is OperationCanceledException || _ct.IsCancellationRequested)
            {
                // Stopped with the session: nothing more to say.
            }
        }
    }

    /// <summary>Handles one input; a failure costs that input only: the loop, and the chat, go on.</summary>
    private async Task TakeAsync(SessionInput input, CancellationToken ct)
    {
        var handler = _handler!;
        handler.Before(input);
        try
        {
            await handler.HandleAsync(input, ct);
        }
        catch (EtcdUnavailableException e)
        {
            handler.Failed(e.Message);
        }
        catch (MeshException e)
        {
            handler.Failed(e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogInputFailed(e, input.GetType().Name);
            handler.Failed(e is IOException or UnauthorizedAccessException
                ? $"{Describe(input)} failed: {e.Message}"
                : $"{Describe(input)} failed ({e.GetType().Name}: {e.Message}); see the log");
        }
    }

    private static string Describe(SessionInput input) => input switch
    {
        SessionInput.GroupLine { Command.Kind: not LineCommand.Kinds.Message } line => $"'{Naming.Printable(line.Command.Text.Split(' ')[0])}'",
        SessionInput.GroupLine or SessionInput.UserLine => "sending",
        _ => $"handling {input.GetType().Name}",
    };

    private static bool IsSlow(SessionInput input) => input is SessionInput.UserLine or SessionInput.EndOfInput
        or SessionInput.MembersChanged or SessionInput.MembersListed or SessionInput.KeyGranted or SessionInput.LogChanged
        or SessionInput.Appended or SessionInput.AdmissionRequests or SessionInput.Continue or SessionInput.KeyAsks or SessionInput.DirectFound or SessionInput.DirectLine;

    /// <summary>Posts ticks until <paramref name="ct"/> is cancelled, each <paramref name="interval"/> (read anew each
    /// time: the session ticks less often while it is quiet) after the one before.</summary>
    public async Task TickAsync(Func<TimeSpan> interval, TimeProvider time, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(interval(), time, ct);
                Post(new SessionInput.Tick());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 516, Level = LogLevel.Error, Message = "session input {Input} failed")]
    private partial void LogInputFailed(Exception e, string input);
}
