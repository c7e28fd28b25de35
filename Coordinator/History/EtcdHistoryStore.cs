using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;
using Microsoft.Extensions.Logging;

namespace Mesh.Coordinator.History;

/// <summary>Group history as etcd keys under <c>/mesh/history/{group}/</c>, written create-only in transactions.</summary>
/// <remarks>Every read is paged by bytes as well as keys (<see cref="BoundedRange"/>): whatever an etcd writer stores
/// under a group's prefix, no answer exceeds what the client takes, and the messages around it are all read.</remarks>
public sealed class EtcdHistoryStore : IHistoryStore
{
    private readonly EtcdConnection _etcd;
    private readonly BoundedRange _range;
    private readonly OversizedValues _oversized;

    /// <param name="etcd">The connection.</param>
    /// <param name="log">Where values left out for their size are reported (a warning a minute at most).</param>
    /// <param name="time">The clock of those warnings.</param>
    public EtcdHistoryStore(EtcdConnection etcd, ILogger? log = null, TimeProvider? time = null)
    {
        _etcd = etcd;
        _range = new BoundedRange(etcd);
        _oversized = new OversizedValues(log, time);
    }

    /// <summary>The largest value a history entry may hold: above the largest envelope a peer seals (130.5 KiB, see
    /// EnvelopeCodec.MaxEncodedBytes, which a unit test holds below this). Larger values are an etcd writer's junk:
    /// reads leave them out.</summary>
    public const int MaxValueBytes = 160 * 1024;

    public long ValuesLeftOut => _oversized.Total;

    /// <summary>etcd rejects a transaction of more than 128 operations (its default --max-txn-ops).</summary>
    public const int MaxOpsPerTransaction = 128;

    /// <summary>etcd rejects a request over 1.5 MiB; stay well under it.</summary>
    public const int MaxBytesPerTransaction = 1024 * 1024;

    /// <summary>The most keys a range page asks for: long histories are read in pages, never as one huge response
    /// (fewer keys a page when the values are large, see <see cref="PageLimit"/>).</summary>
    public const int PageSize = 5000;

    public async Task AppendAsync(IReadOnlyList<HistoryEntry> entries, CancellationToken ct)
    {
        if (entries.Count == 0)
        {
            return;
        }

        if (entries.Count > MaxOpsPerTransaction)
        {
            throw new ArgumentException($"at most {MaxOpsPerTransaction} entries per append", nameof(entries));
        }

        try
        {
            var all = Transaction(entries);
            var response = await _etcd.KV.TxnAsync(all, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            if (response.Succeeded)
            {
                return;
            }

            // Some keys exist already: an earlier attempt landed (its answer was lost), or a recovered outbox is
            // written again. Find which in one read, then write the others, still create-only.
            var probe = new TxnRequest();
            foreach (var entry in entries)
            {
                probe.Success.Add(new RequestOp
                {
                    RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(MeshKeys.HistoryPrefix(entry.Group) + entry.Name), CountOnly = true },
                });
            }

            var existing = await _etcd.KV.TxnAsync(probe, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            var missing = entries.Where((_, i) => existing.Responses[i].ResponseRange.Count == 0).ToList();
            if (missing.Count > 0 && !(await _etcd.KV.TxnAsync(Transaction(missing), deadline: EtcdConnection.Deadline(), cancellationToken: ct)).Succeeded)
            {
                // Raced with another writer of the same keys: settle them one by one.
                foreach (var entry in missing)
                {
                    await _etcd.KV.TxnAsync(Transaction([entry]), deadline: EtcdConnection.Deadline(), cancellationToken: ct);
                }
            }
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    public async Task<bool> ReplaceAsync(HistoryEntry current, HistoryEntry replacement, CancellationToken ct)
    {
        var key = ByteString.CopyFromUtf8(MeshKeys.HistoryPrefix(current.Group) + current.Name);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare
        {
            Key = key,
            Target = Compare.Types.CompareTarget.Mod,
            Result = Compare.Types.CompareResult.Equal,
            ModRevision = current.Revision,
        });
        if (replacement.Name != current.Name || replacement.Group != current.Group)
        {
            txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
        }

        txn.Success.Add(new RequestOp
        {
            RequestPut = new PutRequest
            {
                Key = ByteString.CopyFromUtf8(MeshKeys.HistoryPrefix(replacement.Group) + replacement.Name),
                Value = ByteString.CopyFrom(replacement.Value),
            },
        });
        try
        {
            return (await _etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline(), cancellationToken: ct)).Succeeded;
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    private static TxnRequest Transaction(IReadOnlyList<HistoryEntry> entries)
    {
        var txn = new TxnRequest();
        foreach (var entry in entries)
        {
            var key = ByteString.CopyFromUtf8(MeshKeys.HistoryPrefix(entry.Group) + entry.Name);
            txn.Compare.Add(new Compare
            {
                Key = key,
                Target = Compare.Types.CompareTarget.Version,
                Result = Compare.Types.CompareResult.Equal,
                Version = 0,
            });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFrom(entry.Value) } });
        }

        return txn;
    }

    public Task<long> ReadSinceAsync(string group, long afterRevision, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct) =>
        ReadSinceAsync(group, afterRevision, keysOnly: false, onPage, ct);

    public Task<long> ReadNamesSinceAsync(string group, long afterRevision, Func<IReadOnlyList<string>, ValueTask> onPage, CancellationToken ct) =>
        ReadSinceAsync(group, afterRevision, keysOnly: true, page => onPage(page.ConvertAll(e => e.Name)), ct);

    public async Task<IReadOnlyList<HistoryEntry>> GetAsync(string group, IReadOnlyList<string> names, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var found = new List<HistoryEntry>(names.Count);
        var leftOut = 0;
        // A transaction's answer is bounded by keys too: as many names per transaction as the answers before allow.
        var limit = new PageLimit(MaxOpsPerTransaction);
        try
        {
            var at = 0;
            while (at < names.Count)
            {
                var batch = names.Skip(at).Take(limit.Current).ToList();
                if (batch.Count == 1)
                {
                    var page = await _range.ReadAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(prefix + batch[0]) }, new PageLimit(1), ct);
                    foreach (var kv in page.Response.Kvs)
                    {
                        found.Add(Entry(group, batch[0], kv, page.ValuesLeftOut, ref leftOut));
                    }

                    limit.Answered(1, page.Response.CalculateSize());
                    at++;
                    continue;
                }

                var txn = new TxnRequest();
                foreach (var name in batch)
                {
                    txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(prefix + name) } });
                }

                TxnResponse response;
                try
                {
                    response = await _etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline(BoundedRange.PageTimeout), cancellationToken: ct);
                }
                catch (RpcException e) when (BoundedRange.IsTooLarge(e))
                {
                    limit.Shrink();
                    continue;
                }

                limit.Answered(batch.Count, response.CalculateSize());
                for (var i = 0; i < batch.Count; i++)
                {
                    foreach (var kv in response.Responses[i].ResponseRange.Kvs)
                    {
                        found.Add(Entry(group, batch[i], kv, valueLeftOut: false, ref leftOut));
                    }
                }

                at += batch.Count;
            }
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
        finally
        {
            _oversized.Add(group, leftOut);
        }

        return found;
    }

    /// <summary>An entry as read; a value larger than any message is left out (the entry comes empty), so that junk
    /// costs neither memory nor disk while its name still counts among the keys etcd holds.</summary>
    private static HistoryEntry Entry(string group, string name, Mvccpb.KeyValue kv, bool valueLeftOut, ref int leftOut)
    {
        if (valueLeftOut || kv.Value.Length > MaxValueBytes)
        {
            leftOut++;
            return new HistoryEntry(group, name, []) { Revision = kv.ModRevision };
        }

        return new HistoryEntry(group, name, kv.Value.ToByteArray()) { Revision = kv.ModRevision };
    }

    private async Task<long> ReadSinceAsync(string group, long afterRevision, bool keysOnly, Func<List<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var start = ByteString.CopyFromUtf8(prefix);
        var rangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix));
        var limit = new PageLimit(PageSize);
        var leftOut = 0;
        // Everything before revision `from` is handed over. While `within` is set, revision `from` itself is being read
        // on its own, in key order, after that key (empty: from its first key): a page by modification revision ended
        // inside it, and etcd's order among the keys of one revision (one transaction) is not stable from page to page.
        var from = afterRevision + 1;
        ByteString? within = null;
        long revision = 0;
        try
        {
            while (true)
            {
                var request = within is null
                    ? new RangeRequest
                    {
                        Key = start,
                        RangeEnd = rangeEnd,
                        MinModRevision = from,
                        SortTarget = RangeRequest.Types.SortTarget.Mod,
                        SortOrder = RangeRequest.Types.SortOrder.Ascend,
                        Revision = revision,
                        KeysOnly = keysOnly,
                    }
                    : new RangeRequest
                    {
                        Key = within.IsEmpty ? start : BoundedRange.After(within),
                        RangeEnd = rangeEnd,
                        MinModRevision = from,
                        MaxModRevision = from,
                        Revision = revision,
                        KeysOnly = keysOnly,
                    };
                BoundedPage page;
                try
                {
                    page = await _range.ReadAsync(request, limit, ct);
                }
                catch (RpcException e) when (EtcdFailure.IsCompacted(e) && revision != 0)
                {
                    // The snapshot the earlier pages were read at is gone. Filtering by modification revision works
                    // on any later one: go on from the same place at the current revision.
                    revision = 0;
                    continue;
                }

                // A header names the store's current revision, not the one read: keep the first page's.
                revision = revision == 0 ? page.Response.Header.Revision : revision;
                var kvs = page.Response.Kvs;
                var more = page.Response.More && kvs.Count > 0;
                if (within is not null)
                {
                    // Key order is the order within one revision.
                    await HandOver(kvs, long.MaxValue, page.ValuesLeftOut);
                    within = more ? kvs[^1].Key : null;
                    from += more ? 0 : 1;
                    continue;
                }

                if (!more)
                {
                    await HandOver(kvs, long.MaxValue, page.ValuesLeftOut);
                    return revision;
                }

                // The page may have ended inside its last revision: that revision is read again, whole, on its own.
                var last = kvs.Max(kv => kv.ModRevision);
                await HandOver(kvs, last, page.ValuesLeftOut);
                from = last;
                within = ByteString.Empty;
            }
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
        finally
        {
            _oversized.Add(group, leftOut);
        }

        // Hands over the page's entries written before `before`, by revision, and by key within one (each sender's
        // order).
        async Task HandOver(IReadOnlyList<Mvccpb.KeyValue> kvs, long before, bool valuesLeftOut)
        {
            var taken = new List<HistoryEntry>(kvs.Count);
            foreach (var kv in kvs)
            {
                if (kv.ModRevision < before)
                {
                    taken.Add(keysOnly
                        ? new HistoryEntry(group, kv.Key.ToStringUtf8()[prefix.Length..], []) { Revision = kv.ModRevision }
                        : Entry(group, kv.Key.ToStringUtf8()[prefix.Length..], kv, valuesLeftOut, ref leftOut));
                }
            }

            taken.Sort(static (a, b) => a.Revision != b.Revision ? a.Revision.CompareTo(b.Revision) : string.CompareOrdinal(a.Name, b.Name));
            if (taken.Count > 0)
            {
                await onPage(taken);
            }
        }
    }

    public async Task<long> ReadAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        var read = await ReadOnwardAsync(group, onPage, ct);
        if (read.FirstCompacted == 0)
        {
            return read.Revision;
        }

        // Keys created after the revision the read left may sort before where it had got to: they come last (and
        // those already handed over come again; readers drop copies).
        return await ReadSinceAsync(group, read.FirstCompacted, onPage, ct);
    }

    public async Task<long> ReadInKeyOrderAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct) =>
        (await ReadOnwardAsync(group, onPage, ct)).Revision;

    /// <summary>Every entry in key order, each once, read on after the last one handed over whenever the revision read
    /// at is compacted away.</summary>
    private async Task<OnwardRead> ReadOnwardAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var leftOut = 0;
        try
        {
            return await _range.ReadOnwardAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)) },
                new PageLimit(PageSize),
                async (kvs, valuesLeftOut) =>
                {
                    var entries = new List<HistoryEntry>(kvs.Count);
                    foreach (var kv in kvs)
                    {
                        entries.Add(Entry(group, kv.Key.ToStringUtf8()[prefix.Length..], kv, valuesLeftOut, ref leftOut));
                    }

                    await onPage(entries);
                },
                ct);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
        finally
        {
            _oversized.Add(group, leftOut);
        }
    }

    public async Task<long?> CountAsync(string group, long revision, CancellationToken ct, string? from = null)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        try
        {
            var response = await _etcd.KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(prefix + from), RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)), CountOnly = true, Revision = revision },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Count;
        }
        catch (RpcException e) when (EtcdFailure.IsCompacted(e))
        {
            return null;
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    /// <summary>Keys deleted per request: each batch is one short write, so chat and presence go on meanwhile.</summary>
    public const int DeleteBatch = 10_000;

    public async Task<long> CountBeforeAsync(string group, string bound, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        try
        {
            var response = await _etcd.KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFromUtf8(prefix + bound), CountOnly = true },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Count;
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    public async Task<long> DeleteBeforeAsync(string group, string bound, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var from = ByteString.CopyFromUtf8(prefix);
        var end = ByteString.CopyFromUtf8(prefix + bound);
        long deleted = 0;
        // Keys alone can be large too (etcd takes a 1.5 MiB key): the listing is bounded in bytes like any read.
        var limit = new PageLimit(DeleteBatch);
        try
        {
            while (true)
            {
                // Find where the next batch ends (keys only), then delete up to there in one request.
                var batch = (await _range.ReadAsync(new RangeRequest { Key = from, RangeEnd = end, KeysOnly = true }, limit, ct)).Response;
                if (batch.Kvs.Count == 0)
                {
                    return deleted;
                }

                var upTo = batch.More ? BoundedRange.After(batch.Kvs[^1].Key) : end;
                var response = await _etcd.KV.DeleteRangeAsync(
                    new DeleteRangeRequest { Key = from, RangeEnd = upTo },
                    deadline: EtcdConnection.Deadline(TimeSpan.FromSeconds(15)), cancellationToken: ct);
                deleted += response.Deleted;
                if (!batch.More)
                {
                    return deleted;
                }

                from = upTo;
            }
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }
}
