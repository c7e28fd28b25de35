using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;

namespace Mesh.Coordinator.Groups;

/// <summary>The group logs in etcd, as stored bytes: read whole, appended create-only (one entry wins each index, and
/// whatever an entry needs written with it, such as key grants, is written in the same transaction), repaired.</summary>
/// <remarks>Checking what the bytes mean is not etcd's job: every reader validates the chain itself.</remarks>
public sealed class GroupLogStore(EtcdConnection etcd) : IGroupLogStore
{
    /// <summary>The most entries read of one log.</summary>
    public const int MaxEntries = 100_000;

    /// <summary>The largest value read from the group keys (log, key grants, admission requests): 4 times the largest
    /// record they hold (a log entry, 64 KiB with a departure's cut; a unit test holds every record's bound below this).
    /// Larger values are an etcd writer's junk: reads hand them over empty, which every reader rejects as it rejects any
    /// junk.</summary>
    public const int MaxValueBytes = 256 * 1024;

    private readonly EtcdConnection _etcd = etcd;
    private readonly BoundedRange _range = new(etcd);

    /// <summary>The most keys written with one entry: etcd takes 128 operations per transaction.</summary>
    public const int MaxAlongside = 120;

    /// <summary>The genesis (null when the group does not exist), the later entries by index, and the revision they are
    /// as of.</summary>
    /// <remarks>The entries are read in pages bounded in bytes, at the genesis's revision while etcd keeps it; a
    /// compaction during the read moves it on to a later revision (<see cref="BoundedRange.ReadLatestAsync"/>), never
    /// back to the start, so that the read ends however often etcd compacts. A value larger than any record comes back
    /// empty (invalid, as any junk at that index is).</remarks>
    public async Task<(byte[]? Genesis, IReadOnlyList<(long Index, byte[] Value)> Entries, long Revision)> ReadAsync(string group, CancellationToken ct)
    {
        var prefix = MeshKeys.LogPrefix(group);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var genesis = await ReadGenesisAsync(group, ct);
                var entries = await _range.ReadLatestAsync(new RangeRequest
                {
                    Key = ByteString.CopyFromUtf8(prefix),
                    RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
                    Revision = genesis.Header.Revision,
                }, MaxValueBytes, ct, MaxEntries, pageKeys: 5000);
                // After a compaction the entries are as of a later revision than the genesis: it is theirs too unless it
                // was written since (the group made anew, which calls for reading it all again).
                var latest = entries.Revision == genesis.Header.Revision ? genesis : await ReadGenesisAsync(group, ct);
                if (ModRevision(latest) != ModRevision(genesis) && attempt < BoundedRange.MaxAttempts)
                {
                    continue;
                }

                var list = new List<(long, byte[])>(entries.Kvs.Count);
                foreach (var kv in entries.Kvs)
                {
                    if (long.TryParse(kv.Key.ToStringUtf8()[prefix.Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                    {
                        list.Add((index, kv.Value.ToByteArray()));
                    }
                }

                return (latest.Kvs.Count == 0 ? null : latest.Kvs[0].Value.ToByteArray(), list, entries.Revision);
            }
            catch (RpcException e)
            {
                throw _etcd.Unavailable(e);
            }
        }
    }

    private async Task<RangeResponse> ReadGenesisAsync(string group, CancellationToken ct) =>
        await _etcd.KV.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(MeshKeys.Group(group)) }, deadline: EtcdConnection.Deadline(), cancellationToken: ct);

    /// <summary>When the genesis was last written (0: absent).</summary>
    private static long ModRevision(RangeResponse genesis) => genesis.Kvs.Count == 0 ? 0 : genesis.Kvs[0].ModRevision;

    /// <summary>The log's entries after <paramref name="after"/> (up to 1,000), as changes (with their revisions), in
    /// index order.</summary>
    public async Task<IReadOnlyList<KeyChange>> ReadAfterAsync(string group, long after, CancellationToken ct)
    {
        var prefix = MeshKeys.LogPrefix(group);
        try
        {
            var read = await _range.ReadAllAsync(new RangeRequest
            {
                Key = ByteString.CopyFromUtf8(MeshKeys.LogEntry(group, after + 1)),
                RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
            }, MaxValueBytes, ct, maxKeys: 1000);
            return read.Kvs.Select(kv => new KeyChange(kv.Key.ToStringUtf8(), false, kv.Value.ToByteArray(), kv.ModRevision, 0)).ToList();
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    /// <summary>Writes entry <paramref name="index"/> create-only, with <paramref name="alongside"/> in the same
    /// transaction; true when this call wrote it (the genesis, and tests).</summary>
    public async Task<bool> TryAppendAsync(string group, long index, byte[] record, IReadOnlyList<(string Key, byte[] Value)> alongside, CancellationToken ct) =>
        (await TryAppendAsync(new LogAppend(group, index, record, alongside, [], 0), ct)).Written;

    /// <inheritdoc/>
    /// <remarks>One round trip: the transaction compares the index's modification revision with the one expected (0:
    /// absent) and, when that fails, reads what is there instead, so that the next try compares against the present
    /// occupant. Junk written and deleted, or rewritten in a loop, costs a try, never the log's progress.</remarks>
    public async Task<AppendResult> TryAppendAsync(LogAppend append, CancellationToken ct)
    {
        if (append.Alongside.Count + append.Following.Count > MaxAlongside)
        {
            throw new ArgumentException($"at most {MaxAlongside} keys go with an entry", nameof(append));
        }

        var key = ByteString.CopyFromUtf8(MeshKeys.LogEntry(append.Group, append.Index));
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = append.Occupant });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFrom(append.Record) } });
        foreach (var (i, r) in append.Following)
        {
            var next = ByteString.CopyFromUtf8(MeshKeys.LogEntry(append.Group, i));
            txn.Compare.Add(new Compare { Key = next, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = next, Value = ByteString.CopyFrom(r) } });
        }

        foreach (var (k, v) in append.Alongside)
        {
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(k), Value = ByteString.CopyFrom(v) } });
        }

        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        try
        {
            var response = await _etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            if (response.Succeeded)
            {
                return AppendResult.Done;
            }

            var kvs = response.Responses.Count > 0 ? response.Responses[0].ResponseRange?.Kvs : null;
            return kvs is { Count: > 0 }
                ? new AppendResult(false, kvs[0].Value.ToByteArray(), kvs[0].ModRevision)
                : new AppendResult(false, null, 0);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    /// <summary>Puts back an entry that etcd lost or holds altered (from a member's own copy of the log).</summary>
    public Task RepairAsync(string group, long index, byte[] record, CancellationToken ct) => PutAsync(MeshKeys.LogEntry(group, index), record, ct);

    public async Task PutAsync(string key, byte[] value, CancellationToken ct)
    {
        try
        {
            await _etcd.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(value) },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    /// <summary>The value of a key and its modification revision (null when absent).</summary>
    public async Task<(byte[] Value, long ModRevision)?> GetAsync(string key, CancellationToken ct)
    {
        try
        {
            var response = await _etcd.KV.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Kvs.Count == 0 ? null : (response.Kvs[0].Value.ToByteArray(), response.Kvs[0].ModRevision);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    /// <summary>Every value under a prefix (bounded to <paramref name="limit"/> keys), read in pages bounded in bytes at
    /// one revision; a value larger than any record comes back empty.</summary>
    public async Task<(IReadOnlyList<(string Key, byte[] Value)> Values, long Revision)> ListAsync(string prefix, int limit, CancellationToken ct)
    {
        try
        {
            var read = await _range.ReadAllAsync(new RangeRequest
            {
                Key = ByteString.CopyFromUtf8(prefix),
                RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
            }, MaxValueBytes, ct, maxKeys: limit);
            return (read.Kvs.Select(kv => (kv.Key.ToStringUtf8(), kv.Value.ToByteArray())).ToList(), read.Revision);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    /// <summary>Redeems an invite: deletes its record if it is still the one read (at <paramref name="inviteRevision"/>)
    /// and writes the admission request, in one transaction. False when someone redeemed it first.</summary>
    public Task<bool> RedeemAsync(string inviteKey, long inviteRevision, string requestKey, byte[] request, CancellationToken ct)
    {
        var key = ByteString.CopyFromUtf8(inviteKey);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = inviteRevision });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(requestKey), Value = ByteString.CopyFrom(request) } });
        return TxnAsync(txn, ct);
    }

    /// <summary>Writes a key under a fresh lease of <paramref name="ttl"/>, create-only; true when written.</summary>
    public async Task<bool> CreateLeasedAsync(string key, byte[] value, TimeSpan ttl, CancellationToken ct)
    {
        try
        {
            var lease = await _etcd.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)Math.Ceiling(ttl.TotalSeconds) },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            var k = ByteString.CopyFromUtf8(key);
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = k, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = k, Value = ByteString.CopyFrom(value), Lease = lease.ID } });
            return await TxnAsync(txn, ct);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken ct)
    {
        try
        {
            await _etcd.KV.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) }, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }

    private async Task<bool> TxnAsync(TxnRequest txn, CancellationToken ct)
    {
        try
        {
            return (await _etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline(), cancellationToken: ct)).Succeeded;
        }
        catch (RpcException e)
        {
            throw _etcd.Unavailable(e);
        }
    }
}
