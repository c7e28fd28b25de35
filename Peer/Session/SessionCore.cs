using System.Threading.Channels;
using Mesh.Monitoring;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Microsoft.Extensions.Logging;

namespace Mesh.Peer.Session;

/// <summary>What every part of a session shares: who this peer is, its groups, what it tells the user, the loop it
/// posts work to, and the time. Session loop only, except <see cref="Emit"/> and <see cref="Post"/>.</summary>
internal sealed partial class SessionCore(PeerIdentity identity, string name, SessionLoop loop, EpochKeyring keyring, MeshInstruments instruments,
    ILogger log, TimeProvider time, CancellationToken stopping)
{
    private readonly Channel<MeshEvent> _events = Channel.CreateUnbounded<MeshEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    public string PeerId => identity.PeerId;

    public string Name => name;

    public PeerIdentity Identity => identity;

    public ILogger Log => log;

    public MeshInstruments Instruments => instruments;

    public EpochKeyring Keyring => keyring;

    public RateLimitedWarnings Warnings { get; } = new(log, time);

    /// <summary>Order stamps of what this peer sends, after everything it has seen.</summary>
    public HybridClock Clock { get; } = new();

    /// <summary>The groups joined, by name: in here only once their log was read and checked.</summary>
    public Dictionary<string, GroupState> Groups { get; } = new(StringComparer.Ordinal);

    /// <summary>This run's epoch: the first part of every message number this run gives.</summary>
    public long RunEpoch { get; set; }

    /// <summary>Typed lines to sealed, published messages; made once this run's epoch is known.</summary>
    public MessageSender? Sender { get; set; }

    /// <summary>How direct conversations appear to the user (events carry their labels).</summary>
    public DirectLabels Labels { get; } = new();

    /// <summary>The group plain lines go to.</summary>
    public string? Current { get; set; }

    /// <summary>Where others link to this peer, as its presence records say.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>etcd did not answer the registration's last renewal.</summary>
    public bool EtcdDown { get; set; }

    /// <summary>The wall clock, in Unix ms: only for what is shown or signed (a message's send time, a log entry's,
    /// an expiry), and what is compared with such times (retention by age).</summary>
    public long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A monotonic clock in ms, for scheduling (sweeps, expiries, link release, grace periods, retries): it
    /// never steps when the wall clock is set back or forward.</summary>
    public long MonoMs => (long)(time.GetTimestamp() * (1000.0 / time.TimestampFrequency));

    public TimeProvider Time => time;

    /// <summary>When (<see cref="MonoMs"/>) the session last had something to do besides ticks and beats that found
    /// nothing: ticks come often for a while after it, rarely once it is quiet.</summary>
    public long ActiveAtMs { get; set; }

    /// <summary>Cancelled when the session ends: background work stops.</summary>
    public CancellationToken Stopping => stopping;

    /// <summary>Everything the user should see, in order.</summary>
    public ChannelReader<MeshEvent> Events => _events.Reader;

    /// <summary>Hands <paramref name="e"/> to the user, from any thread: to the events' reader, or, when a sink takes
    /// them, to the sink at the end of the loop's current batch of work.</summary>
    public void Emit(MeshEvent e)
    {
        _events.Writer.TryWrite(Labels.Relabel(e));
        if (_sink is not null && Interlocked.Exchange(ref _flushQueued, 1) == 0)
        {
            // Queued behind the loop's current work (never run inline): every event of a burst of frames goes in one
            // flush. Tasks queued before the loop runs wait for it.
            new Task(FlushEvents).Start(LoopScheduler);
        }
    }

    private IEventSink? _sink;
    private int _flushQueued;

    /// <summary>The loop as a scheduler: where the events' flush runs.</summary>
    public TaskScheduler LoopScheduler { get; set; } = TaskScheduler.Default;

    /// <summary>From now on the session's events go to <paramref name="sink"/>, taken on the loop; <see cref="Events"/>
    /// is then the sink's alone. Before the session runs.</summary>
    public void SendEventsTo(IEventSink sink) => _sink = sink;

    /// <summary>Loop: what was emitted so far goes to the sink, as one batch.</summary>
    private void FlushEvents()
    {
        Volatile.Write(ref _flushQueued, 0);
        try
        {
            var taken = false;
            while (_events.Reader.TryRead(out var e))
            {
                _sink!.Take(e);
                taken = true;
            }

            if (taken)
            {
                _sink!.Flush();
            }
        }
        catch (Exception e)
        {
            LogSinkFailed(log, e);
        }
    }

    /// <summary>Hands work to the loop (from any thread).</summary>
    public void Post(SessionInput input) => loop.Post(input);

    private readonly System.Collections.Concurrent.ConcurrentQueue<Action> _fromHome = new();

    /// <summary>What the home's writer says back (a burst in the outbox, a write failed), from its thread: run on the
    /// loop, in order, at the next <see cref="RunFromHome"/>.</summary>
    public void FromHome(Action done)
    {
        _fromHome.Enqueue(done);
        loop.Post(SessionInput.HomeDone.Instance);
    }

    /// <summary>Runs on the loop what the home's writer said back so far.</summary>
    public void RunFromHome()
    {
        while (_fromHome.TryDequeue(out var done))
        {
            done();
        }
    }

    /// <summary>No more events: a sink gets what is left, then its end. Once the loop has stopped.</summary>
    public void EndEvents()
    {
        if (!_events.Writer.TryComplete() || _sink is null)
        {
            return;
        }

        FlushEvents();
        try
        {
            _sink.Complete();
        }
        catch (Exception e)
        {
            LogSinkFailed(log, e);
        }
    }

    [LoggerMessage(EventId = 519, Level = LogLevel.Error, Message = "events could not be handed to their writer")]
    private static partial void LogSinkFailed(ILogger log, Exception e);

    /// <summary>Runs an etcd write off the loop; a failure is a rate-limited warning (the next tick or ask tries again).</summary>
    public async Task Background(string what, Func<CancellationToken, Task> write)
    {
        try
        {
            await Task.Run(() => write(stopping), CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            // Warned on the loop: the warnings' state belongs to it.
            Post(new SessionInput.Warning($"background:{what}", $"{what} failed ({e.Message.ReplaceLineEndings(" ")}); trying again later"));
        }
    }

    /// <summary>Completes once the sent messages an earlier run left in the outbox are in etcd's history: a group's
    /// history is read after that, so this peer's own view and everyone's hold them in their place.</summary>
    public Task RecoveredWritten { get; set; } = Task.CompletedTask;
}
