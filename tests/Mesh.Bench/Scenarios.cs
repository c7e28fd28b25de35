using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Peer.Crypto;
using Mesh.Peer.Identity;
using Mesh.Peer.Protocol;
using Mesh.Testing;

namespace Mesh.Bench;

/// <summary>Mesh end to end, with every guarantee on (Curve links, group encryption, signatures, history): real
/// peer processes driven through the headless contract, as a script or a bot would.</summary>
public static class Scenarios
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    private static string NewGroup(string stem) => $"{stem}-{Guid.NewGuid():N}"[..Math.Min(40, stem.Length + 13)];

    private static string Text(int i) => $"message {i:D6} " + new string('x', 85);

    private static async Task<List<PeerProcess>> StartGroupAsync(EtcdProcess etcd, string group, IEnumerable<string> names,
        IReadOnlyDictionary<string, string>? environment = null, Func<string, string[]>? extra = null)
    {
        // In waves of 8: 32 processes starting at once on 2 cores can starve etcd past a peer's 5 s start-up check,
        // and what is measured here is the group once it runs, not the start.
        var peers = new List<PeerProcess>();
        foreach (var wave in names.Chunk(8))
        {
            var started = wave.Select(n => PeerProcess.Start(etcd.Url, n, [group], null, environment ?? new Dictionary<string, string>(), extra?.Invoke(n) ?? [])).ToList();
            foreach (var peer in started)
            {
                await peer.WaitReadyAsync(group, Long);
            }

            peers.AddRange(started);
        }

        // Everyone sees everyone: ready lists the members known then; joins follow.
        foreach (var peer in peers)
        {
            await peer.WaitForAsync(p => p.CountOf("joined", group) + p.Of("ready", group)[0].GetProperty("members").GetArrayLength() >= peers.Count,
                Long, "every member online");
        }

        return peers;
    }

    private static async Task CloseAllAsync(IEnumerable<PeerProcess> peers)
    {
        await Task.WhenAll(peers.Select(async p =>
        {
            try
            {
                await p.CloseAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
            }

            await p.DisposeAsync();
        }));
    }

    /// <summary>1 sender, N receivers, 100-byte texts as fast as the sender takes them: delivered to all and
    /// persisted in history, messages per second.</summary>
    public static async Task<(double Delivered, double Persisted)> ThroughputAsync(EtcdProcess etcd, int messages, int receivers)
    {
        var group = NewGroup("tput");
        var peers = await StartGroupAsync(etcd, group, ["sender", .. Enumerable.Range(0, receivers).Select(i => $"r{i}")]);
        try
        {
            var lines = Enumerable.Range(0, messages).Select(Text).ToList();
            var clock = Stopwatch.StartNew();
            await peers[0].SendManyAsync(lines);
            foreach (var receiver in peers.Skip(1))
            {
                await receiver.WaitForAsync(p => p.CountOf("message", group) >= messages, Long, "all messages");
            }

            var delivered = clock.Elapsed.TotalSeconds;
            await Waiting.UntilAsync(() => etcd.CountMessages($"/mesh/history/{group}/") >= messages, Long, "history");
            return (messages / delivered, messages / clock.Elapsed.TotalSeconds);
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>What history costs in etcd: bytes of key and of value per 100-byte message, for a stream sent in bursts
    /// (64 per signature) and for messages sent one at a time (each waits for the one before to be shown).</summary>
    public static async Task<(double BurstKey, double BurstValue, double SingleKey, double SingleValue)> StorageAsync(EtcdProcess etcd, int messages)
    {
        var group = NewGroup("bytes");
        var peers = await StartGroupAsync(etcd, group, ["writer"]);
        try
        {
            var writer = peers[0];
            await writer.SendManyAsync(Enumerable.Range(0, messages).Select(Text));
            await Waiting.UntilAsync(() => etcd.CountMessages(MeshKeys.HistoryPrefix(group)) >= messages, Long, "history");
            var (burstKey, burstValue) = await HistoryBytesAsync(etcd, group);

            var single = NewGroup("bytes1");
            var alone = await StartGroupAsync(etcd, single, ["writer1"]);
            peers.AddRange(alone);
            var few = Math.Max(50, messages / 10);
            for (var i = 0; i < few; i++)
            {
                await alone[0].SendAsync(Text(i));
                await alone[0].WaitForAsync(p => p.CountOf("message", single) > i, Long, "each message shown before the next");
            }

            await Waiting.UntilAsync(() => etcd.CountMessages(MeshKeys.HistoryPrefix(single)) >= few, Long, "history");
            var (singleKey, singleValue) = await HistoryBytesAsync(etcd, single);
            return (burstKey / messages, burstValue / messages, singleKey / few, singleValue / few);
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>etcd's database growth over a chat of <paramref name="messages"/> 100-byte messages from one writer,
    /// in a group that keeps everything and in one that keeps the newest <paramref name="keep"/> (members trimming
    /// every 2 s): bytes of the database in use after compacting to the current revision (what etcd's quota counts
    /// once it is defragmented), grown from before the chat, in MiB.</summary>
    public static async Task<(double KeepAll, double Kept, long MessagesLeft)> GrowthAsync(EtcdProcess etcd, int messages, int keep)
    {
        var all = await ChatGrowthAsync(etcd, NewGroup("grow"), messages, null);
        var kept = await ChatGrowthAsync(etcd, NewGroup("keep"), messages, keep);
        return (all.MiB, kept.MiB, kept.Messages);
    }

    private static async Task<(double MiB, long Messages)> ChatGrowthAsync(EtcdProcess etcd, string group, int messages, int? keep)
    {
        using var connection = new EtcdConnection([etcd.Url]);
        var before = await InUseAfterCompactionAsync(connection);
        var environment = new Dictionary<string, string> { ["MESH_TRIM_INTERVAL"] = "2s" };
        var writer = PeerProcess.Start(etcd.Url, "grower", [group], null, environment, keep is { } k ? ["--keep", k.ToString(System.Globalization.CultureInfo.InvariantCulture)] : ["--keep", "all"]);
        var peers = new List<PeerProcess> { writer };
        try
        {
            await writer.WaitReadyAsync(group, Long);
            await writer.SendManyAsync(Enumerable.Range(0, messages).Select(Text));
            await writer.WaitForAsync(p => p.CountOf("message", group) >= messages, Long, "every message shown");
            var prefix = MeshKeys.HistoryPrefix(group);
            // All written (keep everything), or trimmed to what is kept once the last ones are in: every key whose
            // messages all lie beyond the newest `keep` goes (the key that holds the bound stays whole).
            await Waiting.UntilAsync(() => etcd.CountMessages(prefix) is var held
                && (keep is not { } n ? held == messages : LastSeqStored(etcd, prefix) == messages && held >= n && held < n + 64),
                TimeSpan.FromMinutes(5), "history written and trimmed");
            return ((await InUseAfterCompactionAsync(connection) - before) / (1024.0 * 1024.0), etcd.CountMessages(prefix));
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>The highest message number the history keys under <paramref name="prefix"/> claim (one sender).</summary>
    private static long LastSeqStored(EtcdProcess etcd, string prefix)
    {
        var (code, output) = etcd.Etcdctl("get", prefix, "--prefix", "--keys-only");
        return code != 0 ? -1 : output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(k => HistoryKey.TryParse(k[prefix.Length..], out _, out _, out _, out var last) ? last : 0).DefaultIfEmpty(0).Max();
    }

    private static async Task<long> InUseAfterCompactionAsync(EtcdConnection connection)
    {
        var status = await connection.Maintenance.StatusAsync(new Etcdserverpb.StatusRequest());
        await connection.KV.CompactAsync(new Etcdserverpb.CompactionRequest { Revision = status.Header.Revision, Physical = true });
        return (await connection.Maintenance.StatusAsync(new Etcdserverpb.StatusRequest())).DbSizeInUse;
    }

    /// <summary>Seconds to delete the oldest <paramref name="count"/> history keys of a group (written directly, 100
    /// bytes each, in create-only transactions of 128) with the store's batched range delete, as a trim does.</summary>
    public static async Task<(double WriteSeconds, double DeleteSeconds, long Deleted)> DeleteRangeAsync(EtcdProcess etcd, int count)
    {
        using var connection = new EtcdConnection([etcd.Url]);
        var store = new EtcdHistoryStore(connection);
        var group = NewGroup("del");
        var value = new byte[100];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var batches = Enumerable.Range(0, count).Chunk(EtcdHistoryStore.MaxOpsPerTransaction)
            .Select(b => b.Select(i => new HistoryEntry(group, $"{1_700_000_000_000L + i:D13}-bench", value)).ToList()).ToList();
        // Four writers at once: the write is set-up, not what is measured.
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (batch, ct) => await store.AppendAsync(batch, ct));
        var written = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var deleted = await store.DeleteBeforeAsync(group, $"{1_700_000_000_000L + count:D13}", CancellationToken.None);
        return (written, clock.Elapsed.TotalSeconds, deleted);
    }

    private static async Task<(long Keys, long Values)> HistoryBytesAsync(EtcdProcess etcd, string group)
    {
        using var connection = new EtcdConnection([etcd.Url]);
        var prefix = MeshKeys.HistoryPrefix(group);
        var response = await connection.KV.RangeAsync(new Etcdserverpb.RangeRequest
        {
            Key = Google.Protobuf.ByteString.CopyFromUtf8(prefix),
            RangeEnd = Google.Protobuf.ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
        });
        return (response.Kvs.Sum(kv => (long)kv.Key.Length), response.Kvs.Sum(kv => (long)kv.Value.Length));
    }

    /// <summary>Send → receive latency in a group of <paramref name="size"/> where every member sends, paced to
    /// <paramref name="rate"/> messages per second in all: measured from the line written to the sender's stdin to
    /// the event read from each receiver's stdout, in milliseconds.</summary>
    public static async Task<List<double>> LatencyAsync(EtcdProcess etcd, int size, int rate, TimeSpan duration)
    {
        var group = NewGroup("lat");
        var peers = await StartGroupAsync(etcd, group, Enumerable.Range(0, size).Select(i => $"p{i}"));
        try
        {
            return await PacedLatencyAsync(peers, group, rate, duration);
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>The shape of the Zyre comparison: 1 sender, <paramref name="receivers"/> receivers, the sender paced to
    /// <paramref name="rate"/> messages per second; latency at every receiver, in milliseconds.</summary>
    public static async Task<List<double>> FanOutAsync(EtcdProcess etcd, int receivers, int rate, TimeSpan duration) =>
        (await FanOutCostAsync(etcd, receivers, rate, duration)).Latencies;

    /// <summary>One sender, <paramref name="receivers"/> receivers, paced at <paramref name="rate"/>: latencies (ms) and the
    /// CPU each process spent per message over the run (µs; the receivers' median), idle costs included.</summary>
    public static async Task<(List<double> Latencies, double SenderUs, double ReceiverUs)> FanOutCostAsync(EtcdProcess etcd, int receivers, int rate, TimeSpan duration)
    {
        var group = NewGroup("fan");
        var peers = await StartGroupAsync(etcd, group, Enumerable.Range(0, receivers + 1).Select(i => $"f{i}"));
        try
        {
            var before = peers.Select(p => CpuMs(p.Pid)).ToList();
            var latencies = await PacedLatencyAsync(peers, group, rate, duration, senders: 1);
            var messages = Math.Max(1, latencies.Count / receivers);
            var spent = peers.Select((p, i) => (CpuMs(p.Pid) - before[i]) * 1000 / messages).ToList();
            return (latencies, spent[0], Stats.Median(spent.Skip(1).ToList()));
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>Messages sent in the first second after every member is ready (8 peers, 100 msg/s in all): are the
    /// first messages as fast as the rest? Latency in milliseconds.</summary>
    public static async Task<List<double>> FirstSecondAsync(EtcdProcess etcd, int size, int rate)
    {
        var group = NewGroup("first");
        var peers = await StartGroupAsync(etcd, group, Enumerable.Range(0, size).Select(i => $"n{i}"));
        try
        {
            return await PacedLatencyAsync(peers, group, rate, TimeSpan.FromSeconds(1));
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>8 peers chatting at <paramref name="rate"/> msg/s in all while etcd is frozen (SIGSTOP: connections stay
    /// open, nothing answers) and, meanwhile, one member types <c>/join</c> of another group and <c>/leave</c> of it,
    /// and a new member starts joining. Latency of the live messages sent while etcd was frozen, in milliseconds.</summary>
    public static async Task<List<double>> FrozenEtcdAsync(EtcdProcess etcd, int size, int rate, TimeSpan frozen)
    {
        var group = NewGroup("frozen");
        var peers = await StartGroupAsync(etcd, group, Enumerable.Range(0, size).Select(i => $"z{i}"));
        PeerProcess? newcomer = null;
        try
        {
            var chat = PacedLatencyAsync(peers, group, rate, frozen, sendersFrom: 1);
            etcd.Freeze();
            try
            {
                var other = NewGroup("other");
                // A new name: the second /join confirms creating it.
                await peers[0].SendAsync($"/join {other}");
                await peers[0].SendAsync($"/join {other}");
                await peers[0].SendAsync($"/leave {other}");
                newcomer = PeerProcess.Start(etcd.Url, "late", [group]);
                return await chat;
            }
            finally
            {
                etcd.Thaw();
            }
        }
        finally
        {
            if (newcomer is not null)
            {
                peers.Add(newcomer);
            }

            await CloseAllAsync(peers);
        }
    }

    private static async Task<List<double>> PacedLatencyAsync(List<PeerProcess> peers, string group, int rate, TimeSpan duration,
        int? senders = null, int sendersFrom = 0)
    {
        var size = peers.Count;
        var sending = peers.Skip(sendersFrom).Take(senders ?? size).ToList();
        var sentAt = new ConcurrentDictionary<string, long>();
        var samples = new ConcurrentBag<double>();
        foreach (var peer in peers)
        {
            peer.EventReceived += (e, at) =>
            {
                if (e.Str("type") == "message" && e.Str("group") == group && e.Str("from") != peer.Name
                    && sentAt.TryGetValue(e.Str("text")!, out var start))
                {
                    samples.Add(Stopwatch.GetElapsedTime(start, at).TotalMilliseconds);
                }
            };
        }

        var total = (int)(rate * duration.TotalSeconds);
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        var clock = Stopwatch.StartNew();
        var next = 0;
        while (next < total)
        {
            // Paced by the clock, not by sleeps adding up: whatever is due by now goes out, then a short wait
            // (no spinning: the harness shares the 2 cores with the peers).
            var due = Math.Min(total, (int)(clock.Elapsed / interval) + 1);
            for (; next < due; next++)
            {
                var text = $"lat {next:D7} " + new string('x', 88);
                sentAt[text] = Stopwatch.GetTimestamp();
                await sending[next % sending.Count].SendAsync(text);
            }

            await Task.Delay(1);
        }

        // Each message reaches every member of the group but its sender.
        var expected = total * (size - 1);
        await Waiting.UntilAsync(() => samples.Count >= expected, Long, "every message at every other member",
            () => $"{samples.Count} of {expected}");
        return [.. samples];
    }

    /// <summary>A group with <paramref name="messages"/> messages of history (written straight to etcd, sealed and
    /// signed by its creator, <paramref name="burst"/> messages per signature: 64 is how a peer seals a stream it
    /// cannot keep up with, 1 a conversation at human pace); then the time from starting a member with no local copy
    /// to its ready event, in seconds.</summary>
    public static async Task<double> JoinWithHistoryAsync(EtcdProcess etcd, int messages, int burst) =>
        (await JoinWithHistoryMeasuredAsync(etcd, messages, burst)).Seconds;

    /// <summary>As <see cref="JoinWithHistoryAsync"/>, with the joiner's peak resident memory (VmHWM, MB) at ready.</summary>
    public static async Task<(double Seconds, double PeakRssMb)> JoinWithHistoryMeasuredAsync(EtcdProcess etcd, int messages, int burst)
    {
        var group = NewGroup("join");
        var creator = PeerProcess.Start(etcd.Url, "creator", [group]);
        await creator.WaitReadyAsync(group, Long);
        await creator.CloseAsync(TimeSpan.FromSeconds(30));
        await creator.DisposeAsync();

        using (var identity = IdentityStore.LoadOrCreate(creator.Home))
        using (var key = new EpochKeyring(creator.Home).TryGet(group, 1)!)
        using (var connection = new EtcdConnection([etcd.Url]))
        {
            var store = new EtcdHistoryStore(connection);
            var epoch = EpochClock.Next(creator.Home);
            var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - messages;
            // Sealed and stored as the peer seals and stores what it is given: up to `burst` messages under one
            // signature, each burst's frame one history key.
            var envelopes = Enumerable.Range(1, messages).Select(i => new Envelope(group, identity.PeerId, epoch, i, "creator", start + i, Text(i)));
            var entries = envelopes.Chunk(burst).SelectMany(b =>
            {
                var payloads = EnvelopeCodec.SealBurst(b, key, identity, keyEpoch: 1, logHead: 0);
                return BurstFrame.PackRanges(payloads).Select(f =>
                    new HistoryEntry(group, HistoryKey.Name([.. b.Skip(f.Start).Take(f.Count).Select(e => e.HistoryName)]), f.Frame));
            }).ToList();
            foreach (var batch in HistoryBatches.Of(entries))
            {
                await store.AppendAsync(batch, CancellationToken.None);
            }
        }

        // The creator's home holds the key; without its local copy every message is fetched from etcd.
        Directory.Delete(Path.Combine(creator.Home, "history"), recursive: true);
        var clock = Stopwatch.StartNew();
        var joiner = PeerProcess.Start(etcd.Url, "creator", [group], creator.Home);
        try
        {
            await joiner.WaitReadyAsync(group, Long);
            var seconds = clock.Elapsed.TotalSeconds;
            var shown = joiner.CountOf("message", group);
            if (shown != messages)
            {
                throw new InvalidOperationException($"the joiner showed {shown} of {messages} messages before ready");
            }

            return (seconds, ResidentMb(joiner.Pid, "VmHWM:"));
        }
        finally
        {
            await CloseAllAsync([joiner]);
        }
    }

    /// <summary>From process start to ready in a new, empty group: seconds, median of <paramref name="runs"/>.</summary>
    public static async Task<double> JoinEmptyAsync(EtcdProcess etcd, int runs)
    {
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var group = NewGroup("empty");
            var clock = Stopwatch.StartNew();
            var peer = PeerProcess.Start(etcd.Url, "first", [group]);
            try
            {
                await peer.WaitReadyAsync(group, Long);
                times.Add(clock.Elapsed.TotalSeconds);
            }
            finally
            {
                await CloseAllAsync([peer]);
            }
        }

        return Stats.Median(times);
    }

    /// <summary>A group of <paramref name="size"/> peers on this machine: resident memory of each once idle (MB,
    /// from /proc), then the latency of messages from every member to all others at <paramref name="rate"/> in all.</summary>
    public static async Task<(List<double> Latencies, List<double> IdleRssMb)> ScaleAsync(EtcdProcess etcd, int size, int rate, TimeSpan duration)
    {
        var group = NewGroup("scale");
        var peers = await StartGroupAsync(etcd, group, Enumerable.Range(0, size).Select(i => $"s{i}"));
        try
        {
            var rss = peers.Select(p => p.ResidentMb).ToList();
            return (await PacedLatencyAsync(peers, group, rate, duration), rss);
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>A group of <paramref name="size"/> peers, every member but one chatting (a message each
    /// <see cref="RotationChatInterval"/>); the creator removes that one. Returns the time from the removal until every
    /// remaining member is in the new epoch (holding its key: what it sends is sealed under it), and how many of the
    /// messages sent through it the creator showed missing and twice.</summary>
    /// <summary>How often each member sends a message while the rotation happens (MESH_BENCH_CHAT_MS, default 1000).</summary>
    public static int RotationChatInterval { get; } = int.TryParse(Environment.GetEnvironmentVariable("MESH_BENCH_CHAT_MS"), out var ms) ? ms : 1000;

    public static async Task<(double Seconds, double Committed, double Spread, int Missing, int Duplicated)> RotationAsync(EtcdProcess etcd, int size)
    {
        var group = NewGroup("rotate");
        // At Information, each peer logs (with its time) when it applied a log entry and when it took a key grant.
        var peers = await StartGroupAsync(etcd, group, Enumerable.Range(0, size).Select(i => $"m{i}"), new Dictionary<string, string> { ["MESH_LOG"] = "Information" });
        try
        {
            var (_, genesis) = etcd.Etcdctl("get", Mesh.Coordinator.MeshKeys.Group(group), "--print-value-only");
            var creatorId = Mesh.Peer.Groups.GroupLog.TryStart(group, System.Text.Encoding.UTF8.GetBytes(genesis.TrimEnd('\n')), out _)!.Creator;
            var creator = peers.Single(p => p.PeerId == creatorId);
            var removed = peers.First(p => p != creator);
            var senders = peers.Where(p => p != removed).ToList();
            var sent = new ConcurrentBag<string>();
            using var stop = new CancellationTokenSource();
            var loops = senders.Select(async p =>
            {
                for (var k = 0; !stop.IsCancellationRequested; k++)
                {
                    var text = $"rot-{p.Name}-{k}";
                    await p.SendAsync(text);
                    sent.Add(text);
                    await Task.Delay(RotationChatInterval);
                }

                await p.SendAsync($"rot-final-{p.Name}");
            }).ToList();
            await Task.Delay(1000);
            var removedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await creator.SendAsync($"/remove {removed.Name}");
            // Each member is asked for its members list every 100 ms: the list names the epoch it is in.
            var onNew = new Dictionary<string, long>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (onNew.Count < senders.Count && DateTime.UtcNow < deadline)
            {
                foreach (var p in senders.Where(p => !onNew.ContainsKey(p.Name)))
                {
                    await p.SendAsync("/members");
                }

                await Task.Delay(100);
                foreach (var p in senders.Where(p => !onNew.ContainsKey(p.Name)))
                {
                    if (p.Of("members", group) is { Count: > 0 } lists && lists[^1].GetProperty("epoch").GetInt64() >= 2)
                    {
                        onNew[p.Name] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    }
                }
            }

            await stop.CancelAsync();
            await Task.WhenAll(loops);
            await creator.WaitForAsync(p => senders.Where(s => s != creator).All(s => p.Messages(group).Any(m => m.Str("text") == $"rot-final-{s.Name}")), Long, "every final marker");
            var shown = creator.Messages(group).Select(m => m.Str("text")!).Where(t => t.StartsWith("rot-", StringComparison.Ordinal) && !t.StartsWith("rot-final-", StringComparison.Ordinal)).ToList();
            var missing = sent.Count(t => !shown.Contains(t));
            var duplicated = shown.Count - shown.Distinct().Count();
            var seconds = onNew.Count == senders.Count ? (onNew.Values.Max() - removedAt) / 1000.0 : double.NaN;
            Console.WriteLine("rotation: in the new epoch by /members, ms after the removal was typed (to the 100 ms of the asking): "
                + string.Join(", ", onNew.Values.Order().Select(v => v - removedAt)));

            // From the peers' own logs: when the creator committed the removal, and when each other member took the new key.
            // The removal's transaction left the creator when its "committed" line was logged less the write's time:
            // members watching the log can hold the new key before the creator hears back from etcd.
            var committedAt = CommitStartedAt(creator, group, DateTimeOffset.FromUnixTimeMilliseconds(removedAt));
            var keyed = senders.Where(p => p != creator).Select(p => LoggedAt(p, $"grants of '{group}', up to epoch 2")).ToList();
            var spread = keyed.All(k => k is not null) && committedAt is { } c ? (keyed.Max()!.Value - c).TotalSeconds : double.NaN;
            var committed = committedAt is { } at ? (at - DateTimeOffset.FromUnixTimeMilliseconds(removedAt)).TotalSeconds : double.NaN;
            return (seconds, committed, spread, missing, duplicated);
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>When the first commit to <paramref name="group"/>'s log logged after <paramref name="after"/> was sent to
    /// etcd: its "committed entry" line's time less the write time it reports.</summary>
    private static DateTimeOffset? CommitStartedAt(PeerProcess peer, string group, DateTimeOffset after)
    {
        var pattern = new System.Text.RegularExpressions.Regex(
            $@"committed entry \d+ of the group log of '{System.Text.RegularExpressions.Regex.Escape(group)}': built in [0-9.]+ ms, written in (?<ms>[0-9.]+) ms");
        foreach (var line in File.ReadLines(peer.StderrPath))
        {
            if (pattern.Match(line) is { Success: true } match && TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var time))
            {
                var at = new DateTimeOffset(DateTime.UtcNow.Date + time, TimeSpan.Zero);
                if (at >= after.AddMilliseconds(-1))
                {
                    return at - TimeSpan.FromMilliseconds(double.Parse(match.Groups["ms"].Value, CultureInfo.InvariantCulture));
                }
            }
        }

        return null;
    }

    /// <summary>The time of the first line of a peer's log that contains <paramref name="text"/> (lines start HH:mm:ss.fff, UTC, today).</summary>
    private static DateTimeOffset? LoggedAt(PeerProcess peer, string text)
    {
        foreach (var line in File.ReadLines(peer.StderrPath))
        {
            if (line.Contains(text, StringComparison.Ordinal) && TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var time))
            {
                return new DateTimeOffset(DateTime.UtcNow.Date + time, TimeSpan.Zero);
            }
        }

        return null;
    }

    /// <summary>What one member of a group of <paramref name="size"/> costs, measured on the running processes: its
    /// resident memory, its sockets and threads, its CPU and its link bytes while idle (beats), and, for
    /// <paramref name="messages"/> messages from one member, the CPU each receiver spends and the bytes the sender puts
    /// on each link, per message.</summary>
    public static async Task<MemberCost> MemberCostAsync(EtcdProcess etcd, int size, int messages)
    {
        var group = NewGroup("members");
        var ports = new Dictionary<string, int>();
        var peers = await StartGroupAsync(etcd, group, Enumerable.Range(0, size).Select(i => $"g{i}"), extra: name =>
        {
            var port = FreePort.Next();
            ports[name] = port;
            return ["--bind", $"tcp://127.0.0.1:{port}"];
        });
        try
        {
            // Links settle (each member's hello answered) before anything is counted.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var sender = peers[0];
            var receivers = peers.Skip(1).ToList();
            var idle = TimeSpan.FromSeconds(5);
            var cpu0 = peers.ToDictionary(p => p.Name, p => CpuMs(p.Pid));
            var bytes0 = SentBytes(ports[sender.Name]);
            await Task.Delay(idle);
            var idleCpu = peers.Select(p => (CpuMs(p.Pid) - cpu0[p.Name]) / idle.TotalSeconds).ToList();
            var idleBytes = (SentBytes(ports[sender.Name]) - bytes0) / idle.TotalSeconds / Math.Max(1, receivers.Count);

            var before = receivers.ToDictionary(p => p.Name, p => CpuMs(p.Pid));
            var senderBefore = CpuMs(sender.Pid);
            var linkBefore = SentBytes(ports[sender.Name]);
            var texts = Enumerable.Range(0, messages).Select(Text).ToList();
            foreach (var text in texts)
            {
                await sender.SendAsync(text);
                await Task.Delay(5); // paced: the cost of each message, not of a queue
            }

            foreach (var peer in receivers)
            {
                await peer.WaitForAsync(p => p.CountOf("message", group) >= messages, Long, $"{messages} messages");
            }

            var elapsed = messages * 0.005;
            // What the idle beats cost over the same time is taken off, so that the figure is the messages' own.
            var perMessageCpu = receivers.Select(p => (CpuMs(p.Pid) - before[p.Name] - Stats.Median(idleCpu) * elapsed) / messages).ToList();
            var senderCpu = (CpuMs(sender.Pid) - senderBefore) / messages;
            var perLinkBytes = (SentBytes(ports[sender.Name]) - linkBefore) / (double)messages / receivers.Count;
            return new MemberCost(size, Stats.Median(peers.Select(p => p.ResidentMb).ToList()), Stats.Median(peers.Select(p => (double)Sockets(p.Pid)).ToList()),
                Stats.Median(peers.Select(p => (double)Threads(p.Pid)).ToList()), Stats.Median(idleCpu), idleBytes,
                Stats.Median(perMessageCpu), senderCpu, perLinkBytes, texts[0].Length);
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    public sealed record MemberCost(int Members, double RssMb, double Sockets, double Threads, double IdleCpuMsPerSec, double IdleBytesPerLinkPerSec,
        double ReceiverCpuMsPerMessage, double SenderCpuMsPerMessage, double BytesPerLinkPerMessage, int TextBytes);

    /// <summary>User plus system CPU time of a process so far, in ms.</summary>
    private static double CpuMs(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks * 10.0; // USER_HZ is 100 on Linux
    }

    private static int Sockets(int pid) =>
        Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false;
            }
        });

    private static int Threads(int pid) => Directory.EnumerateDirectories($"/proc/{pid}/task").Count();

    /// <summary>Bytes sent so far on every connection from a local port (the kernel's count, <c>ss -ti</c>).</summary>
    private static long SentBytes(int port)
    {
        var (code, output) = Tool.Run("ss", ["-tinH", "state", "established", $"( sport = :{port} )"]);
        if (code != 0)
        {
            return 0;
        }

        var total = 0L;
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(output, @"bytes_sent:(\d+)"))
        {
            total += long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        return total;
    }

    /// <summary>What an idle peer costs: a group of three left alone (after <paramref name="settle"/>, so that start-up
    /// work is over), each member measured over <paramref name="window"/>: CPU, context switches of all its threads,
    /// resident memory at the start and the end, and threads.</summary>
    public static async Task<List<IdleCost>> IdleCostAsync(EtcdProcess etcd, TimeSpan settle, TimeSpan window)
    {
        var group = NewGroup("quiet");
        var peers = await StartGroupAsync(etcd, group, ["q0", "q1", "q2"]);
        try
        {
            await Task.Delay(settle);
            var before = peers.Select(p => (Cpu: CpuMs(p.Pid), Switches: ContextSwitches(p.Pid), Rss: p.ResidentMb)).ToList();
            await Task.Delay(window);
            var perMinute = 60 / window.TotalSeconds;
            return peers.Select((p, i) => new IdleCost(
                (CpuMs(p.Pid) - before[i].Cpu) / 1000 * perMinute,
                (ContextSwitches(p.Pid) - before[i].Switches) * perMinute,
                before[i].Rss, p.ResidentMb, Threads(p.Pid))).ToList();
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    /// <summary>An idle peer's costs a minute, and its memory over the window.</summary>
    public sealed record IdleCost(double CpuSecondsPerMinute, double SwitchesPerMinute, double RssStartMb, double RssEndMb, int Threads);

    /// <summary>Voluntary and involuntary context switches of every thread of a process so far.</summary>
    private static long ContextSwitches(int pid)
    {
        var total = 0L;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return total;
    }

    /// <summary>A group of three left idle for <paramref name="duration"/>: one member's resident memory (MB) sampled
    /// every <paramref name="every"/>, from the first sample a minute in (the runtime's start-up settled).</summary>
    public static async Task<List<double>> IdleMemoryAsync(EtcdProcess etcd, TimeSpan duration, TimeSpan every)
    {
        var group = NewGroup("idle");
        var peers = await StartGroupAsync(etcd, group, ["i0", "i1", "i2"]);
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(1));
            var samples = new List<double>();
            var clock = Stopwatch.StartNew();
            do
            {
                samples.Add(peers[0].ResidentMb);
                await Task.Delay(every);
            }
            while (clock.Elapsed < duration);

            samples.Add(peers[0].ResidentMb);
            return samples;
        }
        finally
        {
            await CloseAllAsync(peers);
        }
    }

    private static double ResidentMb(int pid, string field = "VmRSS:")
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }
}
