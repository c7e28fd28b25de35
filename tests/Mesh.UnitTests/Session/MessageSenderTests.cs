using System.Collections.Concurrent;
using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Home;
using Mesh.Peer.Identity;
using Mesh.Peer.Node;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class MessageSenderTests
{
    /// <summary>The node's twin: what would have left on the PUB socket, by group.</summary>
    private sealed class Published : IFramePublisher
    {
        public List<(string Group, byte[] Frame)> Frames { get; } = [];

        public void Publish(string group, byte[] frame) => Frames.Add((group, frame));

        public List<byte[]> Envelopes => Frames.SelectMany(f => BurstFrame.IsBurst(f.Frame) ? BurstFrame.TrySplit(f.Frame)! : [f.Frame]).ToList();
    }

    private string _home = null!;
    private PeerIdentity _me = null!;
    private EpochKeyring _keyring = null!;
    private Outbox _outbox = null!;
    private HomeWriter _writer = null!;

    /// <summary>The loop's twin: what the home writer posted back, run by <see cref="Settle"/>.</summary>
    private readonly ConcurrentQueue<Action> _loop = new();
    private Published _published = null!;
    private List<SentMessage> _sent = null!;
    private List<string> _errors = null!;
    private MessageSender _sender = null!;
    private GroupKey _key = null!;

    [SetUp]
    public void Start()
    {
        _home = Path.Combine(Path.GetTempPath(), $"mesh-sender-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_home);
        _me = Identities.New();
        _keyring = new EpochKeyring(_home);
        _outbox = new Outbox(OutboxPath);
        _outbox.Recover();
        _writer = new HomeWriter(_outbox, new LocalHistory(Path.Combine(_home, "history")), _keyring.Files, new GroupLogCopy(_home), _loop.Enqueue);
        _published = new Published();
        _sent = [];
        _errors = [];
        _sender = new MessageSender(_me.PeerId, "amy", 7, _me, _keyring, _writer, _published, new HybridClock(), _sent.Add, _errors.Add);
    }

    [TearDown]
    public async Task Stop()
    {
        await _writer.DisposeAsync();
        _me.Dispose();
        Directory.Delete(_home, recursive: true);
    }

    private GroupState Joined(string group = "g", bool connected = true)
    {
        var genesis = GroupCommits.Genesis(group, LogEntry.Open, _me, "amy", 1000);
        _key = genesis.NewKey!;
        _keyring.Save(group, [(1, _key)]);
        var state = new GroupState(group)
        {
            Follower = new LogFollower(GroupLog.TryStart(group, genesis.Record, out var error) ?? throw new AssertionException(error)),
            CanSend = true,
        };
        if (connected)
        {
            state.MoveTo(GroupPhase.Loading);
        }

        return state;
    }

    /// <summary>Waits for the home writer to have written what it was handed, then runs on the loop what it said.</summary>
    private void Settle()
    {
        _writer.FlushAsync().Wait();
        while (_loop.TryDequeue(out var action))
        {
            action();
        }
    }

    private string OutboxPath => Path.Combine(_home, "outbox");

    /// <summary>A home the outbox cannot be written in: a file where its directory was.</summary>
    private void BreakOutbox()
    {
        Directory.Delete(OutboxPath, recursive: true);
        File.WriteAllText(OutboxPath, "a file where the outbox directory was");
    }

    private DirectoryInfo RepairOutbox()
    {
        File.Delete(OutboxPath);
        return Directory.CreateDirectory(OutboxPath);
    }

    /// <summary>Flushes the sender and lets the outcome of its bursts come back.</summary>
    private void Flush()
    {
        _sender.Flush();
        Settle();
    }

    private List<Envelope> Opened() =>
        _published.Envelopes.Select(b => EnvelopeCodec.TryOpen(b, _ => _key, out _, out var why) ?? throw new AssertionException($"rejected: {why}")).ToList();

    [Test]
    public void Messages_typed_together_leave_as_one_frame_numbered_in_order_and_are_shown_only_after_the_flush()
    {
        var state = Joined();
        foreach (var text in new[] { "one", "two", "three" })
        {
            _sender.Type(state, text, nowMs: 5_000);
        }

        Assert.That(_published.Frames, Is.Empty, "nothing leaves before the flush");
        Assert.That(_sent, Is.Empty, "nor is it shown");
        _sender.Flush();
        _writer.FlushAsync().Wait();
        Assert.That(_outbox.Pending, Is.EqualTo(1), "in the outbox, one key for the burst");
        Assert.That(_published.Frames, Is.Empty, "but published only back on the loop");
        Settle();
        Assert.That(_published.Frames, Has.Count.EqualTo(1), "one burst, one frame");
        var opened = Opened();
        Assert.That(opened.Select(e => e.Text), Is.EqualTo(new[] { "one", "two", "three" }));
        Assert.That(opened.Select(e => e.Seq), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(opened.Select(e => e.Epoch).Distinct(), Is.EqualTo(new long[] { 7 }));
        Assert.That(_sent.Select(s => s.Envelope.Text), Is.EqualTo(new[] { "one", "two", "three" }));
        Assert.That(_outbox.Pending, Is.EqualTo(1), "in the outbox before it was shown");
        // The frame published is the history key written: named for the last message and the count, the same bytes.
        var key = _sent.Select(s => s.Key).Single(k => k is not null)!;
        Assert.That(_sent[^1].Key, Is.SameAs(key), "carried by the burst's last message");
        Assert.That(key.Name, Is.EqualTo(_sent[^1].Envelope.HistoryName + "~003"));
        Assert.That(key.Value, Is.EqualTo(_published.Frames.Single().Frame));
        Assert.That(HistoryKey.TryExpand(key)!.Select(m => m.Name), Is.EqualTo(_sent.Select(s => s.Envelope.HistoryName)));
        Assert.That(_sender.LastSeq("g"), Is.EqualTo(3));
    }

    [Test]
    public void A_full_burst_leaves_without_waiting_for_the_flush()
    {
        var state = Joined();
        for (var i = 0; i < MessageSender.MaxBurst; i++)
        {
            _sender.Type(state, $"m{i}", 5_000);
        }

        Settle();
        Assert.That(_sent, Has.Count.EqualTo(MessageSender.MaxBurst));
        Assert.That(_sender.Unsent, Is.Zero);
    }

    [Test]
    public void Send_times_and_order_stamps_never_go_backwards_whatever_the_clock_says_and_history_keys_sort_as_typed()
    {
        var state = Joined();
        _sender.Type(state, "late", 9_000);
        _sender.Type(state, "clock went back", 4_000);
        Flush();
        var opened = Opened();
        Assert.That(opened[1].SentAtMs, Is.EqualTo(9_000));
        Assert.That(opened[1].Order, Is.GreaterThanOrEqualTo(opened[0].Order));
        Assert.That(string.CompareOrdinal(opened[0].HistoryName, opened[1].HistoryName), Is.LessThan(0));
    }

    [Test]
    public void Lines_typed_before_the_new_key_arrives_are_held_then_leave_under_it_in_the_order_typed()
    {
        var state = Joined();
        state.CanSend = false;
        _sender.Type(state, "a", 5_000);
        _sender.Type(state, "b", 5_001);
        Flush();
        Assert.That(_published.Frames, Is.Empty);
        Assert.That(state.Held.Select(e => e.Text), Is.EqualTo(new[] { "a", "b" }));

        state.CanSend = true;
        _sender.ReleaseHeld(state);
        Settle();
        Assert.That(Opened().Select(e => (e.Text, e.Seq)), Is.EqualTo(new[] { ("a", 1L), ("b", 2L) }), "numbered when typed");
        Assert.That(state.Held, Is.Empty);
    }

    [Test]
    public void Too_many_held_lines_are_refused_with_a_reason()
    {
        var state = Joined();
        state.CanSend = false;
        for (var i = 0; i <= GroupState.MaxHeld; i++)
        {
            _sender.Type(state, $"m{i}", 5_000);
        }

        Assert.That(state.Held, Has.Count.EqualTo(GroupState.MaxHeld));
        Assert.That(_errors.Single(), Does.Contain("lines already wait for the new key"));
    }

    [Test]
    public void A_group_not_yet_admitted_and_text_over_the_limit_are_refused_and_nothing_is_numbered()
    {
        var state = Joined(connected: false);
        _sender.Type(state, "hi", 5_000);
        state.MoveTo(GroupPhase.Loading);
        _sender.Type(state, new string('x', Mesh.Peer.Configuration.Naming.MaxTextBytes + 1), 5_000);
        Flush();
        Assert.That(_errors, Has.Count.EqualTo(2));
        Assert.That(_errors[0], Does.Contain("not admitted"));
        Assert.That(_errors[1], Does.Contain("the limit is"));
        Assert.That(_sender.LastSeq("g"), Is.Zero, "no number used, so no gap for receivers");
    }

    [Test]
    public void Without_the_key_of_the_current_epoch_a_burst_waits_instead_of_leaving_under_another()
    {
        var state = Joined();
        _sender.Type(state, "typed", 5_000);
        _keyring.MoveAside("g", Path.Combine(_home, "aside"));
        Flush();
        Assert.That(_published.Frames, Is.Empty);
        Assert.That(state.CanSend, Is.False);
        Assert.That(state.Held.Single().Text, Is.EqualTo("typed"));
    }

    [Test]
    public void After_leaving_nothing_typed_before_leaves()
    {
        var state = Joined();
        _sender.Type(state, "typed", 5_000);
        state.MoveTo(GroupPhase.Left);
        Flush();
        Assert.That(_published.Frames, Is.Empty);
        Assert.That(_sent, Is.Empty);
    }

    [Test]
    public void An_outbox_that_cannot_be_written_costs_the_burst_which_is_neither_published_nor_shown()
    {
        var state = Joined();
        BreakOutbox();
        _sender.Type(state, "lost", 5_000);
        Flush();
        Assert.That(_published.Frames, Is.Empty);
        Assert.That(_sent, Is.Empty);
        Assert.That(_errors.Single(), Does.Contain("1 message(s) to 'g' not sent: the outbox"));
        Assert.That(_sender.LastSeq("g"), Is.Zero, "its number is given back: no receiver waits for a message that never left");

        RepairOutbox();
        _sender.Type(state, "kept", 5_000);
        Flush();
        Assert.That(Opened().Single().Seq, Is.EqualTo(1));
    }

    [Test]
    public void Each_group_is_numbered_on_its_own()
    {
        var g = Joined("g");
        var gKey = _key;
        var h = Joined("h");
        _sender.Type(g, "g1", 5_000);
        _sender.Type(h, "h1", 5_000);
        _sender.Type(g, "g2", 5_000);
        Flush();
        Assert.That(_published.Frames.Select(f => f.Group), Is.EqualTo(new[] { "g", "h" }), "one burst per group");
        Assert.That((_sender.LastSeq("g"), _sender.LastSeq("h")), Is.EqualTo((2L, 1L)));
        Assert.That(gKey, Is.Not.SameAs(_key));
    }

    [Test]
    public void Bursts_refused_one_after_another_give_all_their_numbers_back()
    {
        var state = Joined();
        BreakOutbox();
        _sender.Type(state, "a", 5_000);
        _sender.Flush();
        _sender.Type(state, "b", 5_000);
        _sender.Type(state, "c", 5_000);
        _sender.Flush();
        Assert.That(_sender.LastSeq("g"), Is.EqualTo(3), "numbered while the first burst was being written");

        Settle();
        Assert.That(_errors, Has.Count.EqualTo(2));
        Assert.That(_sender.LastSeq("g"), Is.Zero, "the second burst's numbers, then the first's, are given back");
        Assert.That(_published.Frames, Is.Empty);
    }

    [Test]
    public void A_refused_burst_that_a_kept_one_was_numbered_after_stays_a_gap_and_the_kept_one_leaves()
    {
        var state = Joined();
        // An outbox with room for a small burst only: the first (large) is refused after the second was numbered.
        var small = new Outbox(Path.Combine(_home, "small"), maxBytes: 4096);
        small.Recover();
        var writer = new HomeWriter(small, new LocalHistory(Path.Combine(_home, "small-history")), _keyring.Files, new GroupLogCopy(_home), _loop.Enqueue);
        var sender = new MessageSender(_me.PeerId, "amy", 7, _me, _keyring, writer, _published, new HybridClock(), _sent.Add, _errors.Add);
        sender.Type(state, new string('x', 6000), 5_000);
        sender.Flush();
        sender.Type(state, "kept", 5_000);
        sender.Flush();
        writer.FlushAsync().Wait();
        while (_loop.TryDequeue(out var action))
        {
            action();
        }

        Assert.That(_errors.Single(), Does.Contain("1 message(s) to 'g' not sent").And.Contain("full"));
        Assert.That(Opened().Select(e => (e.Text, e.Seq)), Is.EqualTo(new[] { ("kept", 2L) }));
        Assert.That(sender.LastSeq("g"), Is.EqualTo(2));
        writer.DisposeAsync().AsTask().Wait();
    }

    [Test]
    public void With_the_outbox_itself_as_the_appender_a_burst_leaves_before_the_flush_returns()
    {
        using var outbox = new Outbox(Path.Combine(_home, "inline"));
        outbox.Recover();
        var sender = new MessageSender(_me.PeerId, "amy", 7, _me, _keyring, outbox, _published, new HybridClock(), _sent.Add, _errors.Add);
        sender.Type(Joined(), "now", 5_000);
        sender.Flush();
        Assert.That(Opened().Single().Text, Is.EqualTo("now"));
        Assert.That(outbox.Pending, Is.EqualTo(1));
    }
}
