using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Coordinator.History;
using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Headless;
using Mesh.Peer.Protocol;
using Mesh.Peer.Session;

namespace Mesh.Peer.Cli;

/// <summary><c>mesh history G</c>: a group's history, oldest first: all that its retention keeps.</summary>
internal static class HistoryCommand
{
    public static Command Create()
    {
        var group = new Argument<string>("group") { Description = "the group" };
        var utc = new Option<bool>("--utc") { Description = "times in UTC (default: this machine's local time)" };
        var command = new Command("history", "print a group's whole history, oldest first") { group, CommonOptions.Json, utc };
        command.SetAction((result, ct) => Cli.Guard(async () =>
        {
            var options = CommonOptions.Resolve(result);
            var name = Naming.RequireGroup(result.GetValue(group));
            var json = result.GetValue(CommonOptions.Json);
            var inUtc = result.GetValue(utc);
            using var etcd = new EtcdConnection(options.Etcd);
            await etcd.CheckReachableAsync(EtcdConnection.CallTimeout, ct);
            var keyring = new EpochKeyring(options.Home);
            if (keyring.Of(name).Count == 0)
            {
                throw new MeshException($"no key for group '{name}' in {options.Home}: only its members can read its history (join it first, or give --home)");
            }

            // The log says who could seal what under which epoch: this home's copy, extended by etcd's checked entries
            // (read on through compactions, never failed by one).
            var (genesis, entries, _) = await new GroupLogStore(etcd).ReadAsync(name, ct);
            var merged = GroupLogSync.Merge(name, new GroupLogCopy(options.Home).Load(name), genesis, entries);
            foreach (var error in merged.Errors)
            {
                Console.Error.WriteLine($"mesh: {TerminalText.OneLine(error)}");
            }

            var log = merged.Log ?? throw new MeshException($"group '{name}' has no valid group log in etcd or in {options.Home}");
            var store = new EtcdHistoryStore(etcd);
            using var stdout = new BufferedStream(Console.OpenStandardOutput(), 64 * 1024);
            var skipped = 0;
            var verified = new VerifiedBursts();
            // Under a retention, etcd may still hold what lies beyond it (members delete it now and then): the
            // messages are gathered first, and only what the policy keeps is printed.
            var keepsAll = log.Retention.KeepsAll;
            var opened = new List<Envelope>();
            // In key order and each entry once, however often etcd compacts meanwhile: a read that meets a compaction
            // goes on where it was, at a later revision (what is written during the read behind that place is left
            // for the next run, as anything written after it).
            // Keys in key order; a key holding a burst is named for its last message, so the messages are printed once
            // all are read, in their own order (each once: a message put back alone beside its burst is one message).
            var names = new HashSet<string>(StringComparer.Ordinal);
            await store.ReadInKeyOrderAsync(name, page =>
            {
                foreach (var entry in page.SelectMany(key => HistoryKey.TryExpand(key) ?? [new HistoryEntry(key.Group, key.Name, [])]))
                {
                    var parsed = EnvelopeCodec.TryParse(entry.Value);
                    var e = parsed is null || parsed.Version < EnvelopeCodec.KeyEpochVersion || parsed.Group != name
                        || keyring.TryGet(name, parsed.KeyEpoch) is not { } key
                        || !log.MaySeal(parsed.PeerId, parsed.SigningKey, parsed.KeyEpoch, parsed.LogHead, parsed.SentAtMs, parsed.Epoch, parsed.Seq)
                        ? null
                        : EnvelopeCodec.TryOpen(parsed, key, out _, out _, verified);
                    if (e is not null && e.HistoryName != entry.Name)
                    {
                        // Stored under another message's name: that message's tombstone, or an etcd writer's replay.
                        e = Tombstone.TryOpen(entry.Name, e, log);
                    }

                    if (e is null)
                    {
                        skipped++;
                        continue;
                    }

                    if (names.Add(entry.Name))
                    {
                        opened.Add(e);
                    }
                }

                return ValueTask.CompletedTask;
            }, ct);

            opened.Sort((a, b) => string.CompareOrdinal(a.HistoryName, b.HistoryName));
            if (keepsAll)
            {
                foreach (var final in HistoryFold.Apply(log, opened))
                {
                    Print(stdout, final, json, inUtc);
                }
            }
            else
            {
                // What the group's retention keeps, as every member shows it: counted over the messages that open.
                var window = new RetentionWindow(log.Retention);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                foreach (var e in opened)
                {
                    window.Offer(e, fromOther: true, now);
                }

                var bound = window.ViewBound(now);
                foreach (var final in HistoryFold.Apply(log, opened.Where(e => bound is null || string.CompareOrdinal(e.HistoryName, bound) >= 0).ToList()))
                {
                    Print(stdout, final, json, inUtc);
                }
            }

            stdout.Flush();
            if (skipped > 0)
            {
                var tooLarge = store.ValuesLeftOut > 0 ? $"; {store.ValuesLeftOut} of them larger than any message, not read" : "";
                Console.Error.WriteLine($"mesh: skipped {skipped} history entries of '{name}' that this home cannot open or that the group log does not vouch for (corrupt, forged, or sealed under an epoch this home has no key of{tooLarge})");
            }

            return 0;
        }));
        return command;
    }

    private static void Print(Stream stdout, HistoryFold.Final final, bool json, bool utc)
    {
        var e = final.Message;
        if (json)
        {
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                EventJson.WriteMessage(w, e.Group, e.Id, e.From, final.Text, e.SentAt, e.HistoryName);
                if (final.ReplyTo is { } replyTo)
                {
                    w.WriteString("reply_to", replyTo);
                }

                if (final.EditedAt is { } edited)
                {
                    w.WriteString("edited_at", EventJson.FormatTime(edited));
                }

                if (final.Deleted is { } deleted)
                {
                    EventJson.WriteDeleted(w, deleted.By, deleted.At);
                }

                if (final.Reactions.Count > 0)
                {
                    w.WriteStartObject("reactions");
                    foreach (var (emoji, from) in final.Reactions)
                    {
                        w.WriteStartArray(emoji);
                        from.ForEach(w.WriteStringValue);
                        w.WriteEndArray();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            stdout.WriteByte((byte)'\n');
            return;
        }

        var text = final.Deleted is { } gone ? $"[message deleted by {gone.By}]"
            : (final.ReplyTo is { } answered ? $"(reply to {answered}) " : "") + final.Text + (final.EditedAt is not null ? " (edited)" : "");
        var line = HistoryLine.Format(e with { Text = text }, utc);
        if (final.Reactions.Count > 0)
        {
            line = line[..^1] + "  [" + TerminalText.OneLine(string.Join(", ", final.Reactions.Select(r => $"{r.Emoji} {string.Join(" ", r.From)}"))) + "]\n";
        }

        stdout.Write(System.Text.Encoding.UTF8.GetBytes(line));
    }
}
