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

    /// <summary>etcd's key order: by bytes.</summary>
    private static readonly IComparer<ByteString> KeyOrder = Comparer<ByteString>.Create((a, b) => a.Span.SequenceCompareTo(b.Span));

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
                        leftOut += LeaveOut(kv, request.KeysOnly, page.ValuesLeftOut, maxValueBytes) ? 1 : 0;
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

    /// <summary>Every key of <paramref name="request"/>'s range in key order, each once, handed over page by page however
    /// often etcd compacts. Pages are read at one revision (the request's, or the first page's) while etcd keeps it;
    /// once it is compacted away, the read goes on after the last key handed over at the current revision, never again
    /// from the start: a read that takes longer than the time between two compactions still ends.</summary>
    /// <param name="request">The range (key, range end, keys-only, revision, filters); its limit is ignored.</param>
    /// <param name="limit">How many keys each page asks for.</param>
    /// <param name="onPage">Takes each page's keys (none empty), and whether their values were left out for their size.</param>
    /// <param name="ct">Cancels the read.</param>
    /// <param name="maxKeys">The most keys handed over in all.</param>
    /// <exception cref="RpcException">etcd's failures other than a compaction (no answer in time, …).</exception>
    public async Task<OnwardRead> ReadOnwardAsync(RangeRequest request, PageLimit limit, Func<IReadOnlyList<Mvccpb.KeyValue>, bool, ValueTask> onPage,
        CancellationToken ct, int maxKeys = int.MaxValue)
    {
        var next = request.Clone();
        var revision = request.Revision;
        long firstCompacted = 0;
        var handed = 0;
        while (handed < maxKeys)
        {
            next.Revision = revision;
            BoundedPage page;
            try
            {
                page = await ReadAsync(next, limit, ct).ConfigureAwait(false);
            }
            catch (RpcException e) when (revision != 0 && EtcdFailure.IsCompacted(e))
            {
                // A read at the current revision is never refused as compacted: the read always moves on.
                firstCompacted = firstCompacted == 0 ? revision : firstCompacted;
                revision = 0;
                continue;
            }

            // A header names the store's current revision, not the one read at: only a page read at the current one
            // sets it.
            revision = revision == 0 ? page.Response.Header.Revision : revision;
            var kvs = page.Response.Kvs;
            if (kvs.Count == 0)
            {
                break;
            }

            IReadOnlyList<Mvccpb.KeyValue> taken = kvs.Count <= maxKeys - handed ? kvs : kvs.Take(maxKeys - handed).ToList();
            handed += taken.Count;
            await onPage(taken, page.ValuesLeftOut).ConfigureAwait(false);
            if (!page.Response.More)
            {
                break;
            }

            next.Key = After(kvs[^1].Key);
        }

        return new OnwardRead(revision, firstCompacted);
    }

    /// <summary>Every key of <paramref name="request"/>'s range in key order, as of the revision returned, however often
    /// etcd compacts meanwhile: read on past compactions (<see cref="ReadOnwardAsync"/>), then, when one was met, again
    /// only what was written since the revision it left, until a pass ends at the revision it began at. For keys written
    /// create-only (a group log): a key deleted during the read may still be in it.</summary>
    /// <param name="request">The range (key, range end, revision to begin at); its limit is ignored.</param>
    /// <param name="maxValueBytes">Values larger than this are never handed over: an etcd writer's junk, not a record.</param>
    /// <param name="ct">Cancels the read.</param>
    /// <param name="maxKeys">The most keys read in all.</param>
    /// <param name="pageKeys">The most keys a page asks for.</param>
    /// <exception cref="RpcException">etcd's failures other than a compaction.</exception>
    public async Task<RangeSnapshot> ReadLatestAsync(RangeRequest request, int maxValueBytes, CancellationToken ct, int maxKeys = int.MaxValue, int pageKeys = 1000)
    {
        var found = new SortedDictionary<ByteString, (Mvccpb.KeyValue Kv, bool LeftOut)>(KeyOrder);
        var pass = request;
        while (true)
        {
            var read = await ReadOnwardAsync(pass, new PageLimit(Math.Min(pageKeys, maxKeys)), (kvs, valuesLeftOut) =>
            {
                foreach (var kv in kvs)
                {
                    found[kv.Key] = (kv, LeaveOut(kv, request.KeysOnly, valuesLeftOut, maxValueBytes));
                }

                return ValueTask.CompletedTask;
            }, ct, maxKeys).ConfigureAwait(false);
            if (read.FirstCompacted == 0)
            {
                var kept = found.Values.Take(maxKeys).ToList();
                return new RangeSnapshot([.. kept.Select(k => k.Kv)], read.Revision, kept.Count(k => k.LeftOut));
            }

            // Keys read before the compaction are as of the revision it took away; what was written there since is read
            // now, by modification revision (a filter etcd applies at any revision it keeps).
            pass = request.Clone();
            pass.Revision = 0;
            pass.MinModRevision = Math.Max(request.MinModRevision, read.FirstCompacted + 1);
        }
    }

    /// <summary>Empties a value too large to be a record; true when it did.</summary>
    private static bool LeaveOut(Mvccpb.KeyValue kv, bool keysOnly, bool valuesLeftOut, int maxValueBytes)
    {
        if (keysOnly || !valuesLeftOut && kv.Value.Length <= maxValueBytes)
        {
            return false;
        }

        kv.Value = ByteString.Empty;
        return true;
    }

    /// <summary>The smallest key after <paramref name="key"/>: where the next page starts.</summary>
    public static ByteString After(ByteString key) => ByteString.CopyFrom([.. key.Span, 0]);

    /// <summary>The answer was larger than the client takes (or the server sends).</summary>
    public static bool IsTooLarge(RpcException e) =>
        e.StatusCode == StatusCode.ResourceExhausted && e.Status.Detail.Contains("message", StringComparison.OrdinalIgnoreCase);
}
