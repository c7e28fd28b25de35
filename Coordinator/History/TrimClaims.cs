using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;

namespace Mesh.Coordinator.History;

/// <summary>The claim to trim a group's history (<see cref="MeshKeys.TrimClaim"/>): one member takes it per interval
/// with a compare-and-swap on the key's revision, so that members do not all delete at once.</summary>
/// <remarks>Unsigned and unchecked: any etcd writer can move it. Moving it only makes members wait; what they delete
/// follows from the group's signed retention and their own view of its history, never from this key.</remarks>
public sealed class TrimClaims(EtcdConnection etcd) : ITrimClaims
{
    /// <summary>The claim key's modification revision (0: no one has claimed yet).</summary>
    public async Task<long> ReadAsync(string group, CancellationToken ct)
    {
        try
        {
            var response = await etcd.KV.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(MeshKeys.TrimClaim(group)), KeysOnly = true },
                deadline: EtcdConnection.Deadline(), cancellationToken: ct);
            return response.Kvs.Count == 0 ? 0 : response.Kvs[0].ModRevision;
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }

    /// <summary>Takes the claim if it is still at <paramref name="seenRevision"/> (any revision when
    /// <paramref name="force"/>); false when another member took it first.</summary>
    public async Task<bool> TryTakeAsync(string group, long seenRevision, string by, bool force, CancellationToken ct)
    {
        var key = ByteString.CopyFromUtf8(MeshKeys.TrimClaim(group));
        var put = new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(by) } };
        var txn = new TxnRequest();
        if (!force)
        {
            txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = seenRevision });
        }

        txn.Success.Add(put);
        try
        {
            return (await etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline(), cancellationToken: ct)).Succeeded;
        }
        catch (RpcException e)
        {
            throw etcd.Unavailable(e);
        }
    }
}
