using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>etcd's range call as the reads through <see cref="BoundedRange"/> use it (pages, revisions, compactions,
/// filters); run against the in-memory twin and against real etcd.</summary>
public abstract class RangeCallContract : PortContract
{
    private static RangeRequest Prefix(string prefix, long revision = 0) =>
        new() { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(prefix)), Revision = revision };

    private static List<string> KeysOf(RangeResponse response) => [.. response.Kvs.Select(kv => kv.Key.ToStringUtf8())];

    private async Task<long> PutAsync(string key, string value)
    {
        await Ports.LogStore.PutAsync(key, Bytes(value), None);
        return await Ports.Info.CurrentRevisionAsync(None);
    }

    [Test]
    public async Task Pages_come_in_key_order_cut_at_the_limit_with_more_set_and_the_count_of_the_whole_range()
    {
        var prefix = Unique("/pages") + "/";
        foreach (var name in new[] { "d", "b", "e", "a", "c" })
        {
            await PutAsync(prefix + name, "v" + name);
        }

        var first = await Ports.RangeAsync(new RangeRequest(Prefix(prefix)) { Limit = 2 }, None);
        Assert.That(KeysOf(first), Is.EqualTo(new[] { prefix + "a", prefix + "b" }));
        Assert.That((first.More, first.Count), Is.EqualTo((true, 5L)));
        var second = await Ports.RangeAsync(new RangeRequest(Prefix(prefix)) { Key = BoundedRange.After(first.Kvs[^1].Key), Limit = 2 }, None);
        Assert.That(KeysOf(second), Is.EqualTo(new[] { prefix + "c", prefix + "d" }));
        Assert.That(second.More, Is.True);
        var last = await Ports.RangeAsync(new RangeRequest(Prefix(prefix)) { Key = BoundedRange.After(second.Kvs[^1].Key), Limit = 2 }, None);
        Assert.That(KeysOf(last), Is.EqualTo(new[] { prefix + "e" }));
        Assert.That(last.More, Is.False);

        var keysOnly = await Ports.RangeAsync(new RangeRequest(Prefix(prefix)) { KeysOnly = true }, None);
        Assert.That(keysOnly.Kvs.Select(kv => kv.Value.Length), Is.All.Zero);
        var countOnly = await Ports.RangeAsync(new RangeRequest(Prefix(prefix)) { CountOnly = true }, None);
        Assert.That((countOnly.Kvs.Count, countOnly.Count), Is.EqualTo((0, 5L)));
        var one = await Ports.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(prefix + "c") }, None);
        Assert.That(one.Kvs.Select(kv => kv.Value.ToStringUtf8()), Is.EqualTo(new[] { "vc" }), "no range end: the key alone");
    }

    [Test]
    public async Task A_read_at_a_revision_sees_the_range_as_it_was_and_its_header_names_the_current_revision()
    {
        var prefix = Unique("/then") + "/";
        var then = await PutAsync(prefix + "a", "1");
        await PutAsync(prefix + "b", "2");
        var now = await PutAsync(prefix + "a", "3");

        var old = await Ports.RangeAsync(Prefix(prefix, then), None);
        Assert.That(old.Kvs.Select(kv => (kv.Key.ToStringUtf8(), kv.Value.ToStringUtf8(), kv.ModRevision)), Is.EqualTo(new[] { (prefix + "a", "1", then) }));
        Assert.That(old.Header.Revision, Is.EqualTo(now), "the store's revision, not the one read at");
        var current = await Ports.RangeAsync(Prefix(prefix), None);
        Assert.That(current.Kvs.Select(kv => (kv.Value.ToStringUtf8(), kv.CreateRevision, kv.Version)), Is.EqualTo(new[] { ("3", then, 2L), ("2", now - 1, 1L) }));
    }

    [Test]
    public async Task A_revision_compacted_away_or_not_reached_yet_is_refused_as_out_of_range()
    {
        var prefix = Unique("/compacted") + "/";
        var then = await PutAsync(prefix + "a", "1");
        await PutAsync(prefix + "a", "2");
        var compacted = await Ports.CompactAsync();

        var gone = Assert.ThrowsAsync<RpcException>(() => Ports.RangeAsync(Prefix(prefix, then), None));
        Assert.That(gone!.StatusCode, Is.EqualTo(StatusCode.OutOfRange));
        Assert.That(EtcdFailure.IsCompacted(gone), Is.True);
        Assert.That(gone.Status.Detail, Does.Contain("required revision has been compacted"));
        var kept = await Ports.RangeAsync(Prefix(prefix, compacted), None);
        Assert.That(kept.Kvs.Select(kv => kv.Value.ToStringUtf8()), Is.EqualTo(new[] { "2" }), "the revision compacted to is kept");
        var future = Assert.ThrowsAsync<RpcException>(() => Ports.RangeAsync(Prefix(prefix, compacted + 1000), None));
        Assert.That(future!.StatusCode, Is.EqualTo(StatusCode.OutOfRange));
    }

    [Test]
    public async Task Filters_by_modification_revision_apply_before_the_limit_and_a_sort_by_it_ascends()
    {
        var prefix = Unique("/filters") + "/";
        await PutAsync(prefix + "d", "1");
        var before = await PutAsync(prefix + "c", "2");
        await PutAsync(prefix + "b", "3");
        await PutAsync(prefix + "a", "4");
        await PutAsync(prefix + "d", "5");

        var since = await Ports.RangeAsync(new RangeRequest(Prefix(prefix)) { MinModRevision = before + 1, Limit = 2 }, None);
        Assert.That(KeysOf(since), Is.EqualTo(new[] { prefix + "a", prefix + "b" }), "in key order, those written after");
        Assert.That(since.More, Is.True);
        var upTo = await Ports.RangeAsync(new RangeRequest(Prefix(prefix)) { MaxModRevision = before }, None);
        Assert.That(KeysOf(upTo), Is.EqualTo(new[] { prefix + "c" }));
        var byRevision = await Ports.RangeAsync(new RangeRequest(Prefix(prefix))
        {
            MinModRevision = before,
            SortTarget = RangeRequest.Types.SortTarget.Mod,
            SortOrder = RangeRequest.Types.SortOrder.Ascend,
        }, None);
        Assert.That(KeysOf(byRevision), Is.EqualTo(new[] { prefix + "c", prefix + "b", prefix + "a", prefix + "d" }), "in the order written");
    }
}

[Category("Unit")]
public sealed class InMemoryRangeCallContract : RangeCallContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => InMemoryPorts.StartAsync();
}

[Category("Integration")]
public sealed class EtcdRangeCallContract : RangeCallContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => EtcdPorts.StartAsync();
}
