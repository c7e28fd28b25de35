using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;

namespace Mesh.Testing;

public sealed partial class InMemoryEtcd
{
    /// <summary>etcd's range call as this store answers it, for code that reads etcd through <see cref="BoundedRange"/>:
    /// the keys from the request's key up to its range end (the key alone when the end is empty, every key from it on
    /// when the end is "\0") as they were at its revision (0: now), filtered by creation and modification revision, in
    /// key order or sorted as asked, cut at its limit with <c>more</c> set when keys were left, keys or count only when
    /// asked. A revision compacted away or not reached yet, and a store out of reach, fail with etcd's status and
    /// words. The header names the current revision, whatever the revision read at, as etcd's does.</summary>
    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        try
        {
            return Task.FromResult(Request("Range", () =>
            {
                lock (_lock)
                {
                    return RangeCallLocked(request);
                }
            }));
        }
        catch (EtcdUnavailableException)
        {
            return Task.FromException<RangeResponse>(new RpcException(new Status(StatusCode.Unavailable, "Error connecting to subchannel.")));
        }
        catch (RpcException e)
        {
            return Task.FromException<RangeResponse>(e);
        }
    }

    private RangeResponse RangeCallLocked(RangeRequest request)
    {
        if (request.Revision != 0 && request.Revision < _compacted)
        {
            throw new RpcException(new Status(StatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted"));
        }

        if (request.Revision > _revision)
        {
            throw new RpcException(new Status(StatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision"));
        }

        var key = request.Key.ToStringUtf8();
        var end = request.RangeEnd.ToStringUtf8();
        var inRange = request.RangeEnd.IsEmpty
            ? ValueAtLocked(key, request.Revision) is { } one ? [one] : []
            : RangeLocked("", request.Revision, key, end == "\0" ? null : end, int.MaxValue);
        var response = new RangeResponse { Header = new ResponseHeader { Revision = _revision }, Count = inRange.Count };
        if (request.CountOnly)
        {
            return response;
        }

        var kept = Sorted(inRange.Where(kv =>
            (request.MinModRevision == 0 || kv.ModRevision >= request.MinModRevision)
            && (request.MaxModRevision == 0 || kv.ModRevision <= request.MaxModRevision)
            && (request.MinCreateRevision == 0 || kv.CreateRevision >= request.MinCreateRevision)
            && (request.MaxCreateRevision == 0 || kv.CreateRevision <= request.MaxCreateRevision)), request).ToList();
        response.More = request.Limit > 0 && kept.Count > request.Limit;
        foreach (var kv in request.Limit > 0 ? kept.Take((int)request.Limit) : kept)
        {
            response.Kvs.Add(new Mvccpb.KeyValue
            {
                Key = ByteString.CopyFromUtf8(kv.Key),
                Value = request.KeysOnly ? ByteString.Empty : ByteString.CopyFrom(kv.Value),
                CreateRevision = kv.CreateRevision,
                ModRevision = kv.ModRevision,
                Version = kv.Version,
                Lease = kv.Lease,
            });
        }

        return response;
    }

    /// <summary>The keys in the order asked for: key order unless sorted otherwise (etcd ascends when a target is named
    /// without an order). Among equals the order is etcd's to choose; here it is key order.</summary>
    private static IEnumerable<StoredValue> Sorted(IEnumerable<StoredValue> keys, RangeRequest request)
    {
        var target = request.SortTarget;
        var order = request.SortOrder == RangeRequest.Types.SortOrder.None && target != RangeRequest.Types.SortTarget.Key
            ? RangeRequest.Types.SortOrder.Ascend
            : request.SortOrder;
        if (order == RangeRequest.Types.SortOrder.None || target == RangeRequest.Types.SortTarget.Key && order == RangeRequest.Types.SortOrder.Ascend)
        {
            return keys;
        }

        if (target == RangeRequest.Types.SortTarget.Key)
        {
            return keys.Reverse();
        }

        Func<StoredValue, long> by = target switch
        {
            RangeRequest.Types.SortTarget.Mod => kv => kv.ModRevision,
            RangeRequest.Types.SortTarget.Create => kv => kv.CreateRevision,
            RangeRequest.Types.SortTarget.Version => kv => kv.Version,
            _ => throw new NotSupportedException($"the in-memory etcd does not sort by {target}"),
        };
        return order == RangeRequest.Types.SortOrder.Descend ? keys.OrderByDescending(by) : keys.OrderBy(by);
    }
}
