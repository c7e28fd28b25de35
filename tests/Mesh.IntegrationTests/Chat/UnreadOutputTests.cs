using System.Diagnostics;
using System.Globalization;
using Mesh.Coordinator.History;
using Mesh.Peer.Home;
using Mesh.Peer.Protocol;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Chat;

/// <summary>A headless peer whose stdout nobody reads keeps taking messages in bounded memory, and prints every one
/// of them, once and in order, when its reader comes back.</summary>
public sealed class UnreadOutputTests : EtcdFixture
{
    private const int Count = 40_000;
    private const int Step = 1_000;

    /// <summary>How much the unread receiver's resident memory may grow while it takes the messages. Measured on a
    /// loaded 2-core box (three runs each): without the spill it grew by 88–117 MB (the session's events waited in
    /// memory for stdout), with it by 30–42 MB (what taking 40,000 messages costs a peer whatever stdout does).</summary>
    private const double GrowthBoundMb = 64;

    [Test]
    public async Task A_receiver_whose_stdout_is_not_read_stays_in_bounded_memory_and_then_prints_every_message_once_in_order()
    {
        var group = NewGroup("unread");
        var (sender, receiver) = await StartPairAsync(group, "sender", "receiver");
        receiver.PauseReading();
        var copy = CopyCounter.Of(receiver, group);
        var spill = Path.Combine(receiver.Home, "spill", $"stdout-{receiver.Pid}.jsonl");

        // About 200 bytes each: some 17 MB of JSON lines, far past what the stdout pipe and the memory bound hold.
        var sent = Enumerable.Range(0, Count).Select(i => $"u{i:D5} " + new string((char)('a' + i % 26), 194)).ToList();
        var baseline = receiver.ResidentMb;
        using var sampling = new CancellationTokenSource();
        var peak = SamplePeakAsync(receiver, sampling.Token);
        var clock = Stopwatch.StartNew();
        // In steps the receiver keeps up with (its local copy holds each before the next goes): what grows is what
        // it holds for stdout, not frames queued on the link in a burst.
        var total = 0;
        foreach (var step in sent.Chunk(Step))
        {
            await sender.SendManyAsync(step);
            total += step.Length;
            await Waiting.UntilAsync(() => copy.Count() >= total, Long, $"the receiver's copy holds {total}", () => $"{copy.Count()} in the copy");
        }

        var marker = $"marker {Guid.NewGuid():N}";
        await sender.SendAsync(marker);
        await Waiting.UntilAsync(() => copy.Count() > Count, Long, "the receiver's copy holds the marker", () => $"{copy.Count()} in the copy");
        var taken = clock.Elapsed;
        var unread = receiver.ResidentMb;
        await sampling.CancelAsync();
        var growth = Math.Max(await peak, unread) - baseline;
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"unread receiver: {baseline:F1} MB before, {unread:F1} MB with all {Count} taken ({taken.TotalSeconds:F1} s), grew by at most {growth:F1} MB"));
        Assert.That(growth, Is.LessThan(GrowthBoundMb), "resident memory grew while stdout was not read");
        Assert.That(File.Exists(spill), Is.True, "what memory did not hold waits on disk");
        Assert.That(File.GetUnixFileMode(spill), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));

        receiver.ResumeReading();
        await receiver.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == marker), Long, "the marker once reading resumed");
        var received = Counted(receiver, group);
        Assert.That(received.Select(m => m.Str("text")), Is.EqualTo(sent), "every message, once, in the order sent");
        Assert.That(received.Select(m => m.Str("id")).Distinct().Count(), Is.EqualTo(Count), "no id twice");
        Assert.That(receiver.Unparsable, Is.Zero, "stdout carried only whole JSON lines");
        await Waiting.UntilAsync(() => !File.Exists(spill), Long, "the spill file removed once drained");
        Assert.That(await receiver.CloseAsync(), Is.EqualTo(0));
        Assert.That(Directory.GetFiles(Path.Combine(receiver.Home, "spill")), Is.Empty, "nothing left at exit");
    }

    [Test]
    public async Task A_receiver_whose_stdout_is_closed_goes_on_chatting_and_exits_cleanly()
    {
        var group = NewGroup("closed");
        var (sender, receiver) = await StartPairAsync(group, "sender", "receiver");
        receiver.CloseStdout();
        var copy = CopyCounter.Of(receiver, group);

        // Its writes fail with EPIPE, which stdout takes as written: nothing waits for a reader that is gone.
        await sender.SendManyAsync(Enumerable.Range(0, 5_000).Select(i => $"c{i:D4} " + new string('c', 194)));
        await Waiting.UntilAsync(() => copy.Count() >= 5_000, Long, "the receiver's copy holds all 5000", () => $"{copy.Count()} in the copy");
        await receiver.SendAsync("still here");
        await sender.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "still here"), Long, "the receiver's line");

        Assert.That(await receiver.CloseAsync(), Is.EqualTo(0), "end of input: a clean exit, as before");
        var spill = Path.Combine(receiver.Home, "spill");
        Assert.That(Directory.Exists(spill) ? Directory.GetFiles(spill) : [], Is.Empty, "nothing spilled is left");
    }

    /// <summary>The highest resident memory seen, sampled every 100 ms until cancelled.</summary>
    private static async Task<double> SamplePeakAsync(PeerProcess peer, CancellationToken ct)
    {
        var peak = 0.0;
        try
        {
            while (true)
            {
                peak = Math.Max(peak, peer.ResidentMb);
                await Task.Delay(100, ct);
            }
        }
        catch (OperationCanceledException)
        {
            return peak;
        }
    }

    /// <summary>Counts the distinct entries of a peer's local history copy as it grows, reading only what was appended
    /// since the last count.</summary>
    private sealed class CopyCounter(string path)
    {
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private long _offset;

        public static CopyCounter Of(PeerProcess peer, string group) => new(Path.Combine(peer.Home, "history", group + ".log"));

        public int Count()
        {
            if (!File.Exists(path))
            {
                return 0;
            }

            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length <= _offset)
            {
                return _names.Count;
            }

            var bytes = new byte[file.Length - _offset];
            file.Position = _offset;
            file.ReadExactly(bytes);
            var entries = new List<HistoryEntry>();
            var scan = HistoryRecordCodec.Read(bytes, entries);
            _offset += scan.GoodBytes;
            // A key of a sender's burst holds several messages; the copy holds keys as etcd does.
            foreach (var entry in HistoryKey.ExpandAll(entries, out _))
            {
                _names.Add(entry.Name);
            }

            return _names.Count;
        }
    }
}
