using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Mesh.Coordinator.Etcd;

/// <summary>Range reads in pages whose answers stay under the gRPC receive limit whatever an etcd writer stores.</summary>
/// <remarks>
/// etcd limits a range by keys, never by bytes: 5,000 keys of 1.4 MiB each are one 7 GB answer, which the client
/// refuses ("Received message exceeds the maximum configured message size"), and the same read fails again at every
/// retry. Each page here asks for as many keys as its <see cref="PageLimit"/> allows, sized from the bytes of the
/// answers before it; an answer over the limit is asked again at half the keys.
/// </remarks>
public sealed class BoundedRange
{
    /// <summary>How long one page may take: a page may be a few megabytes, read from disk by etcd.</summary>
    public static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How many times a whole read starts again after a compaction (each one of many pages) before it fails.</summary>
    public const int MaxAttempts = 5;

    private readonly Func<RangeRequest, CancellationToken, Task<RangeResponse>> _range;

    public BoundedRange(EtcdConnection etcd)
        : this((request, ct) => etcd.KV.RangeAsync(request, deadline: EtcdConnection.Deadline(PageTimeout), cancellationToken: ct).ResponseAsync)
    {
    }

    /// <param name="range">One range call (a test's stand-in for etcd); an answer over the receive limit fails with
    /// <see cref="StatusCode.ResourceExhausted"/>.</param>
    public BoundedRange(Func<RangeRequest, CancellationToken, Task<RangeResponse>> range) => _range = range;

    /// <summary>One page of <paramref name="request"/> (its own limit is replaced by <paramref name="limit"/>'s), at
    /// most as large as the receive limit allows.</summary>
    /// <exception cref="RpcException">etcd's failures, as they come (a compacted revision, no answer in time, …).</exception>
    public async Task<BoundedPage> ReadAsync(RangeRequest request, PageLimit limit, CancellationToken ct)
    {
        var ask = request.Clone();
        while (true)
        {
            ask.Limit = limit.Current;
            try
            {
                var response = await _range(ask, ct).ConfigureAwait(false);
                limit.Answered(response.Kvs.Count, response.CalculateSize());
                return new BoundedPage(response, ValuesLeftOut: false);
            }
            catch (RpcException e) when (IsTooLarge(e))
            {
                if (limit.Shrink())
                {
                    continue;
                }

                // One value alone is over the limit (etcd takes requests that large only when told to): its key, not
                // its value, so that the read goes on past it.
                ask.KeysOnly = true;
                return new BoundedPage(await _range(ask, ct).ConfigureAwait(false), ValuesLeftOut: !request.KeysOnly);
            }
        }
    }

    /// <summary>Every key of <paramref name="request"/>'s range in key order, page by page, all at one revision: the
    /// request's own, or the first page's (and then, if that revision is compacted away mid-read, the whole read again
    /// at a later one, up to <see cref="MaxAttempts"/> times). Values over <paramref name="maxValueBytes"/> come back empty.</summary>
    /// <param name="request">The range (key, range end, keys-only, revision); its limit is ignored.</param>
    /// <param name="maxValueBytes">Values larger than this are never handed over: an etcd writer's junk, not a record.</param>
    /// <param name="ct">Cancels the read.</param>
    /// <param name="maxKeys">The most keys read in all.</param>
    /// <param name="pageKeys">The most keys a page asks for.</param>
    /// <returns>The keys and values read, the revision they were read at, and how many values were left out.</returns>
    public async Task<RangeSnapshot> ReadAllAsync(RangeRequest request, int maxValueBytes, CancellationToken ct, int maxKeys = int.MaxValue, int pageKeys = 1000)
    {
        for (var attempt = 1; ; attempt++)
        {
            var kvs = new List<Mvccpb.KeyValue>();
            var revision = request.Revision;
            var leftOut = 0;
            var limit = new PageLimit(Math.Min(pageKeys, maxKeys));
            var next = request.Clone();
            try
            {
                while (kvs.Count < maxKeys)
                {
                    next.Revision = revision;
                    var page = await ReadAsync(next, limit, ct).ConfigureAwait(false);
                    revision = revision == 0 ? page.Response.Header.Revision : revision;
                    foreach (var kv in page.Response.Kvs.Take(maxKeys - kvs.Count))
                    {
                        if (!request.KeysOnly && (page.ValuesLeftOut || kv.Value.Length > maxValueBytes))
                        {
                            kv.Value = ByteString.Empty;
                            leftOut++;
                        }

                        kvs.Add(kv);
                    }

                    if (!page.Response.More || page.Response.Kvs.Count == 0)
                    {
                        break;
                    }

                    next.Key = After(page.Response.Kvs[^1].Key);
                }

                return new RangeSnapshot(kvs, revision, leftOut);
            }
            catch (RpcException e) when (request.Revision == 0 && revision != 0 && attempt < MaxAttempts && EtcdFailure.IsCompacted(e))
            {
                // The revision the first pages were read at is gone: read it all again at the current one.
            }
        }
    }

    /// <summary>The smallest key after <paramref name="key"/>: where the next page starts.</summary>
    public static ByteString After(ByteString key) => ByteString.CopyFrom([.. key.Span, 0]);

    /// <summary>The answer was larger than the client takes (or the server sends).</summary>
    public static bool IsTooLarge(RpcException e) =>
        e.StatusCode == StatusCode.ResourceExhausted && e.Status.Detail.Contains("message", StringComparison.OrdinalIgnoreCase);
}
