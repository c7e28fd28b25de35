using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;

namespace Mesh.Coordinator.History;

/// <summary>Group history as etcd keys under <c>/mesh/history/{group}/</c>, written create-only in transactions.</summary>
public sealed class EtcdHistoryStore(EtcdConnection etcd) : IHistoryStore
{
    /// <summary>etcd rejects a transaction of more than 128 operations (its default --max-txn-ops).</summary>
    public const int MaxOpsPerTransaction = 128;

    /// <summary>etcd rejects a request over 1.5 MiB; stay well under it.</summary>
    public const int MaxBytesPerTransaction = 1024 * 1024;

    /// <summary>Keys per range page: long histories are read in pages, never as one huge response.</summary>
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
            var response = await etcd.KV.TxnAsync(all, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
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

            var existing = await etcd.KV.TxnAsync(probe, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            var missing = entries.Where((_, i) => existing.Responses[i].ResponseRange.Count == 0).ToList();
            if (missing.Count > 0 && !(await etcd.KV.TxnAsync(Transaction(missing), deadline: EtcdConnection.Deadline(), cancellationToken: ct)).Succeeded)
            {
                // Raced with another writer of the same keys: settle them one by one.
                foreach (var entry in missing)
                {
                    await etcd.KV.TxnAsync(Transaction([entry]), deadline: EtcdConnection.Deadline(), cancellationToken: ct);
                }
            }
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
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
        try
        {
            foreach (var batch in names.Chunk(MaxOpsPerTransaction))
            {
                var txn = new TxnRequest();
                foreach (var name in batch)
                {
                    txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(prefix + name) } });
                }

                var response = await etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline(TimeSpan.FromSeconds(15)), cancellationToken: ct);
                for (var i = 0; i < batch.Length; i++)
                {
                    foreach (var kv in response.Responses[i].ResponseRange.Kvs)
                    {
                        found.Add(new HistoryEntry(group, batch[i], kv.Value.ToByteArray()) { Revision = kv.ModRevision });
                    }
                }
            }
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }

        return found;
    }

    private async Task<long> ReadSinceAsync(string group, long afterRevision, bool keysOnly, Func<List<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var key = ByteString.CopyFromUtf8(prefix);
        var rangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix));
        var from = afterRevision + 1;
        long revision = 0;
        // Keys written in one transaction share a revision, so a page boundary may fall inside one: each next page
        // starts at the last page's revision again, and the names already handed over at that revision are skipped.
        var atBoundary = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                RangeResponse response;
                try
                {
                    response = await etcd.KV.RangeAsync(
                        new RangeRequest
                        {
                            Key = key,
                            RangeEnd = rangeEnd,
                            MinModRevision = from,
                            SortTarget = RangeRequest.Types.SortTarget.Mod,
                            SortOrder = RangeRequest.Types.SortOrder.Ascend,
                            Limit = PageSize,
                            Revision = revision,
                            KeysOnly = keysOnly,
                        },
                        deadline: EtcdConnection.Deadline(TimeSpan.FromSeconds(15)), cancellationToken: ct);
                }
                catch (RpcException e) when (IsCompacted(e) && revision != 0)
                {
                    // The snapshot the earlier pages were read at is gone. Filtering by modification revision works
                    // on any later one: go on from the same place at the current revision.
                    revision = 0;
                    continue;
                }

                // A header names the store's current revision, not the one read: keep the first page's.
                revision = revision == 0 ? response.Header.Revision : revision;
                var taken = new List<(long Revision, HistoryEntry Entry)>(response.Kvs.Count);
                foreach (var kv in response.Kvs)
                {
                    var name = kv.Key.ToStringUtf8()[prefix.Length..];
                    if (kv.ModRevision == from && atBoundary.Contains(name))
                    {
                        continue;
                    }

                    taken.Add((kv.ModRevision, new HistoryEntry(group, name, kv.Value.ToByteArray()) { Revision = kv.ModRevision }));
                }

                // etcd's sort by modification revision is not stable among the keys of one transaction: within a
                // revision, key order (which is each sender's order) is restored here.
                taken.Sort(static (a, b) => a.Revision != b.Revision ? a.Revision.CompareTo(b.Revision) : string.CompareOrdinal(a.Entry.Name, b.Entry.Name));
                var page = taken.ConvertAll(t => t.Entry);

                if (page.Count > 0)
                {
                    await onPage(page);
                }

                if (response.Kvs.Count < PageSize)
                {
                    return revision;
                }

                var last = response.Kvs[^1].ModRevision;
                if (last != from)
                {
                    atBoundary.Clear();
                }

                foreach (var kv in response.Kvs.Where(kv => kv.ModRevision == last))
                {
                    atBoundary.Add(kv.Key.ToStringUtf8()[prefix.Length..]);
                }

                from = last;
            }
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    public async Task<long> ReadAsync(string group, Func<IReadOnlyList<HistoryEntry>, ValueTask> onPage, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var rangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix));
        var from = ByteString.CopyFromUtf8(prefix);
        long revision = 0;
        long firstRevision = 0;
        try
        {
            while (true)
            {
                RangeResponse response;
                try
                {
                    response = await etcd.KV.RangeAsync(
                        new RangeRequest { Key = from, RangeEnd = rangeEnd, Limit = PageSize, Revision = revision },
                        deadline: EtcdConnection.Deadline(TimeSpan.FromSeconds(15)), cancellationToken: ct);
                }
                catch (RpcException e) when (IsCompacted(e) && revision != 0)
                {
                    // The snapshot was compacted away mid-read: go on after the last key handed over, at the current
                    // revision; what was written meanwhile before that key is read by revision at the end.
                    firstRevision = firstRevision == 0 ? revision : firstRevision;
                    revision = 0;
                    continue;
                }

                // Every page is read at the first page's revision: one consistent snapshot, however long. (A header
                // names the store's current revision, not the one read, so only the first page's is taken.)
                revision = revision == 0 ? response.Header.Revision : revision;
                if (response.Kvs.Count > 0)
                {
                    var page = new List<HistoryEntry>(response.Kvs.Count);
                    foreach (var kv in response.Kvs)
                    {
                        page.Add(new HistoryEntry(group, kv.Key.ToStringUtf8()[prefix.Length..], kv.Value.ToByteArray()) { Revision = kv.ModRevision });
                    }

                    await onPage(page);
                }

                if (!response.More || response.Kvs.Count == 0)
                {
                    break;
                }

                // Continue right after the last key of this page.
                var last = response.Kvs[^1].Key.ToByteArray();
                from = ByteString.CopyFrom([.. last, 0]);
            }
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }

        if (firstRevision == 0)
        {
            return revision;
        }

        // Keys created after the first snapshot may sort before where the read had got to: they come last (and
        // those already handed over come again; readers drop copies).
        return await ReadSinceAsync(group, firstRevision, onPage, ct);
    }

    public async Task<long?> CountAsync(string group, long revision, CancellationToken ct, string? from = null)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        try
        {
            var response = await etcd.KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(prefix + from), RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)), CountOnly = true, Revision = revision },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Count;
        }
        catch (RpcException e) when (IsCompacted(e))
        {
            return null;
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    /// <summary>Keys deleted per request: each batch is one short write, so chat and presence go on meanwhile.</summary>
    public const int DeleteBatch = 10_000;

    public async Task<long> CountBeforeAsync(string group, string bound, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        try
        {
            var response = await etcd.KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFromUtf8(prefix + bound), CountOnly = true },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Count;
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    public async Task<long> DeleteBeforeAsync(string group, string bound, CancellationToken ct)
    {
        var prefix = MeshKeys.HistoryPrefix(group);
        var from = ByteString.CopyFromUtf8(prefix);
        var end = ByteString.CopyFromUtf8(prefix + bound);
        long deleted = 0;
        try
        {
            while (true)
            {
                // Find where the next batch ends (keys only), then delete up to there in one request.
                var batch = await etcd.KV.RangeAsync(
                    new RangeRequest { Key = from, RangeEnd = end, Limit = DeleteBatch, KeysOnly = true },
                    deadline: EtcdConnection.Deadline(TimeSpan.FromSeconds(15)), cancellationToken: ct);
                if (batch.Kvs.Count == 0)
                {
                    return deleted;
                }

                var upTo = batch.More ? ByteString.CopyFrom([.. batch.Kvs[^1].Key.ToByteArray(), 0]) : end;
                var response = await etcd.KV.DeleteRangeAsync(
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
            throw etcd.Unavailable(e);
        }
    }

    private static bool IsCompacted(RpcException e) =>
        e.StatusCode == StatusCode.OutOfRange || e.Status.Detail.Contains("compacted", StringComparison.Ordinal);
}
