using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Membership;

namespace Mesh.Coordinator.Groups;

/// <summary>The list of groups and their online members, as etcd holds them.</summary>
public sealed class GroupDirectory(EtcdConnection etcd) : IMemberDirectory
{
    /// <summary>The largest member record read: many times a real one (well under 1 KiB). Larger values are an etcd
    /// writer's junk, read as empty (and so skipped as malformed).</summary>
    public const int MaxValueBytes = 16 * 1024;

    private readonly BoundedRange _range = new(etcd);

    /// <summary>Creates the group's directory entry unless it exists; returns true when this call created it.</summary>
    public Task<bool> EnsureGroupAsync(string group, GroupRecord record, CancellationToken ct) =>
        CreateAsync(MeshKeys.Group(group), record.ToBytes(), ct);

    /// <summary>The group's directory entry; null when the group does not exist, or its entry is unreadable.</summary>
    public async Task<GroupRecord?> GetGroupAsync(string group, CancellationToken ct) =>
        await GetAsync(MeshKeys.Group(group), ct) is { } value ? GroupRecord.TryParse(value) : null;

    /// <summary>Writes a durable key unless it exists (create-only); true when this call wrote it.</summary>
    public async Task<bool> CreateAsync(string key, byte[] value, CancellationToken ct)
    {
        var keyBytes = ByteString.CopyFromUtf8(key);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare
        {
            Key = keyBytes,
            Target = Compare.Types.CompareTarget.Version,
            Result = Compare.Types.CompareResult.Equal,
            Version = 0,
        });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = keyBytes, Value = ByteString.CopyFrom(value) } });
        try
        {
            var response = await etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Succeeded;
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    /// <summary>The value of one key, or null when it does not exist.</summary>
    public async Task<byte[]?> GetAsync(string key, CancellationToken ct)
    {
        try
        {
            var response = await etcd.KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(key) },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToByteArray();
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken ct)
    {
        try
        {
            await etcd.KV.DeleteRangeAsync(
                new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    /// <summary>Every group, with how many members are online, as of one revision.</summary>
    public async Task<IReadOnlyList<GroupSummary>> ListGroupsAsync(CancellationToken ct)
    {
        try
        {
            // Keys alone can be large too (etcd takes a 1.5 MiB key): listed in pages bounded in bytes.
            var groups = await _range.ReadAllAsync(
                new RangeRequest
                {
                    Key = ByteString.CopyFromUtf8(MeshKeys.GroupsPrefix),
                    RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(MeshKeys.GroupsPrefix)),
                    KeysOnly = true,
                }, MaxValueBytes, ct);
            var result = new List<GroupSummary>(groups.Kvs.Count);
            foreach (var kv in groups.Kvs)
            {
                var name = kv.Key.ToStringUtf8()[MeshKeys.GroupsPrefix.Length..];
                var prefix = MeshKeys.MembersPrefix(name);
                var count = await etcd.KV.RangeAsync(
                    new RangeRequest
                    {
                        Key = ByteString.CopyFromUtf8(prefix),
                        RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
                        CountOnly = true,
                        Revision = groups.Revision,
                    },
                    deadline: EtcdConnection.Deadline(), cancellationToken: ct);
                result.Add(new GroupSummary(name, count.Count));
            }

            return result;
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    /// <summary>The group's online members, and the revision they were read at (a watch continues after it).</summary>
    /// <remarks>Read in pages bounded in bytes: junk under the prefix costs a page, never the list.</remarks>
    public async Task<(IReadOnlyList<MemberRecord> Members, long Revision)> ListMembersAsync(string group, CancellationToken ct)
    {
        var prefix = MeshKeys.MembersPrefix(group);
        try
        {
            var read = await _range.ReadAllAsync(
                new RangeRequest
                {
                    Key = ByteString.CopyFromUtf8(prefix),
                    RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)),
                }, MaxValueBytes, ct);
            var members = new List<MemberRecord>(read.Kvs.Count);
            foreach (var kv in read.Kvs)
            {
                if (MemberRecord.TryParse(kv.Value.Span) is { } record)
                {
                    members.Add(record);
                }
            }

            return (members, read.Revision);
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    /// <summary>Turns raw changes under a members prefix into member changes; malformed records are skipped.</summary>
    public static IEnumerable<MemberChange> ToMemberChanges(string group, IEnumerable<KeyChange> changes)
    {
        var prefix = MeshKeys.MembersPrefix(group);
        foreach (var change in changes)
        {
            if (!change.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var peerId = change.Key[prefix.Length..];
            if (change.IsDelete)
            {
                yield return new MemberChange(peerId, null);
            }
            else if (MemberRecord.TryParse(change.Value) is { } record && record.PeerId == peerId)
            {
                yield return new MemberChange(peerId, record);
            }
        }
    }
}
