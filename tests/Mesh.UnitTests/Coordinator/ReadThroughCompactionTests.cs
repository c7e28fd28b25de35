using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Testing;

namespace Mesh.UnitTests.Coordinator;

/// <summary>Range reads against the in-memory etcd's range call while it compacts after every page it answers: they go
/// on where they were at a later revision, and end.</summary>
[Category("Unit")]
public sealed class ReadThroughCompactionTests
{
    private const int Keys = 2_000;
    private const int PageKeys = 100;
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>The in-memory etcd's range call, with etcd compacting up to its current revision after every page it
    /// answers (a write outside the range first, so that the revision moves), and something else done once after
    /// <see cref="AfterPage"/> pages.</summary>
    private sealed class CompactingEtcd : IDisposable
    {
        public InMemoryEtcd Etcd { get; } = new();

        public bool Compacting { get; set; } = true;

        /// <summary>Range calls made, answered or refused.</summary>
        public int Calls { get; private set; }

        /// <summary>Range calls answered.</summary>
        public int Pages { get; private set; }

        public int Compactions { get; private set; }

        public int AfterPage { get; set; } = -1;

        public Action Then { get; set; } = () => { };

        public async Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken ct)
        {
            Calls++;
            var response = await Etcd.RangeAsync(request, ct);
            Pages++;
            if (Compacting)
            {
                Etcd.Put("/elsewhere/tick", [1]);
                Etcd.Compact(Etcd.Revision);
                Compactions++;
            }

            if (Pages == AfterPage)
            {
                Then();
            }

            return response;
        }

        public void Dispose() => Etcd.Dispose();
    }

    private static RangeRequest Prefix(string prefix, long revision = 0) =>
        new() { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)), Revision = revision };

    /// <summary>Keys /h/000000, /h/000002, … (even numbers: odd ones sort between them).</summary>
    private static List<string> Write(InMemoryEtcd etcd)
    {
        var keys = Enumerable.Range(0, Keys).Select(i => $"/h/{i * 2:D6}").ToList();
        foreach (var key in keys)
        {
            etcd.Put(key, System.Text.Encoding.UTF8.GetBytes("v " + key));
        }

        return keys;
    }

    /// <summary>After the third page, a key is written behind where the read has got to and one ahead of it.</summary>
    private static void WriteBehindAndAhead(CompactingEtcd etcd)
    {
        etcd.AfterPage = 3;
        etcd.Then = () =>
        {
            etcd.Etcd.Put("/h/000001", [1]);
            etcd.Etcd.Put("/h/999999", [1]);
        };
    }

    private static async Task<(List<string> Keys, OnwardRead Read)> ReadOnwardAsync(CompactingEtcd etcd, RangeRequest request)
    {
        var seen = new List<string>();
        var read = await new BoundedRange(etcd.RangeAsync).ReadOnwardAsync(request, new PageLimit(PageKeys), (kvs, _) =>
        {
            seen.AddRange(kvs.Select(kv => kv.Key.ToStringUtf8()));
            return ValueTask.CompletedTask;
        }, None);
        return (seen, read);
    }

    [Test]
    public async Task A_read_compacted_under_after_every_page_hands_over_every_key_once_in_key_order_and_ends()
    {
        using var etcd = new CompactingEtcd();
        var keys = Write(etcd.Etcd);
        var began = etcd.Etcd.Revision;
        WriteBehindAndAhead(etcd);

        var (seen, read) = await ReadOnwardAsync(etcd, Prefix("/h/"));

        Assert.That(seen, Is.EqualTo(keys.Append("/h/999999")), "every key once, in key order; what was written behind the read is not");
        Assert.That(read.FirstCompacted, Is.EqualTo(began), "the keys before the first compaction are as of the revision the read began at");
        Assert.That(read.Revision, Is.GreaterThan(began));
        Assert.That(etcd.Compactions, Is.GreaterThanOrEqualTo(Keys / PageKeys), "a compaction after every page");
        Assert.That(etcd.Calls, Is.LessThanOrEqualTo(2 * etcd.Pages), "each page refused at most once, then read at a later revision");
    }

    [Test]
    public void A_whole_read_at_one_revision_never_ends_under_the_same_compactions()
    {
        using var etcd = new CompactingEtcd();
        Write(etcd.Etcd);
        var range = new BoundedRange(etcd.RangeAsync);

        // Pinned to a revision (as the group log's entries were to the genesis's), or started again from the first key
        // after each compaction: every attempt meets one before its second page.
        var pinned = Assert.ThrowsAsync<RpcException>(() => range.ReadAllAsync(Prefix("/h/", etcd.Etcd.Revision), 1024, None, pageKeys: PageKeys));
        Assert.That(EtcdFailure.IsCompacted(pinned!), Is.True);
        var restarted = Assert.ThrowsAsync<RpcException>(() => range.ReadAllAsync(Prefix("/h/"), 1024, None, pageKeys: PageKeys));
        Assert.That(EtcdFailure.IsCompacted(restarted!), Is.True);
    }

    [Test]
    public async Task A_latest_read_compacted_under_after_every_page_is_the_range_as_of_the_revision_it_returns()
    {
        using var etcd = new CompactingEtcd();
        Write(etcd.Etcd);
        etcd.Etcd.Put("/h/000020", new byte[2048]);
        var began = etcd.Etcd.Revision;
        long written = 0;
        // Behind the read: a key created and one rewritten; ahead of it: a key created.
        etcd.AfterPage = 3;
        etcd.Then = () =>
        {
            etcd.Etcd.Put("/h/000001", "early"u8.ToArray());
            etcd.Etcd.Put("/h/000010", "rewritten"u8.ToArray());
            written = etcd.Etcd.Put("/h/999999", "late"u8.ToArray());
        };

        var read = await new BoundedRange(etcd.RangeAsync).ReadLatestAsync(Prefix("/h/", began), maxValueBytes: 1024, None, pageKeys: PageKeys);

        // Nothing under /h/ changes after the read: what etcd holds now is what it held at the revision returned.
        etcd.Compacting = false;
        var now = etcd.Etcd.Range("/h/").Values;
        Assert.That(read.Revision, Is.GreaterThanOrEqualTo(written));
        Assert.That(read.Kvs.Select(kv => kv.Key.ToStringUtf8()), Is.EqualTo(now.Select(v => v.Key)), "every key once, in key order");
        Assert.That(read.Kvs.Select(kv => kv.Value.ToStringUtf8()), Is.EqualTo(now.Select(v => v.Value.Length > 1024 ? "" : System.Text.Encoding.UTF8.GetString(v.Value))),
            "each as last written");
        Assert.That(read.ValuesLeftOut, Is.EqualTo(1), "the value too large, counted once");
    }

    [Test]
    public async Task A_read_that_etcd_keeps_the_revision_of_is_one_snapshot()
    {
        using var etcd = new CompactingEtcd { Compacting = false };
        var keys = Write(etcd.Etcd);
        var began = etcd.Etcd.Revision;
        WriteBehindAndAhead(etcd);

        var (seen, read) = await ReadOnwardAsync(etcd, Prefix("/h/"));

        Assert.That(seen, Is.EqualTo(keys), "as of the revision the read began at");
        Assert.That(read, Is.EqualTo(new OnwardRead(began, 0)));
    }

    [Test]
    public async Task A_read_whose_etcd_goes_out_of_reach_fails_with_the_cause_at_once()
    {
        using var etcd = new CompactingEtcd { Compacting = false, AfterPage = 2 };
        Write(etcd.Etcd);
        etcd.Then = () => etcd.Etcd.Reachable = false;

        var onward = Assert.ThrowsAsync<RpcException>(() => ReadOnwardAsync(etcd, Prefix("/h/")));
        Assert.That(onward!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(etcd.Calls, Is.EqualTo(3), "the page that failed is not asked again");

        var latest = Assert.ThrowsAsync<RpcException>(() => new BoundedRange(etcd.RangeAsync).ReadLatestAsync(Prefix("/h/"), 1024, None, pageKeys: PageKeys));
        Assert.That(latest!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
    }
}
