using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Coordinator.Etcd;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class BoundedRangeTests
{
    private const int ReceiveLimit = 64 * 1024 * 1024;

    /// <summary>etcd's range by keys (key order, limit, keys-only), and the client's receive limit.</summary>
    private sealed class FakeEtcd(int receiveLimit = ReceiveLimit)
    {
        private readonly SortedDictionary<string, byte[]> _kvs = new(StringComparer.Ordinal);

        public List<(long Limit, long Bytes, bool Refused)> Calls { get; } = [];

        public void Put(string key, byte[] value) => _kvs[key] = value;

        public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken ct)
        {
            var from = request.Key.ToStringUtf8();
            var end = request.RangeEnd.ToStringUtf8();
            var all = _kvs.Where(kv => string.CompareOrdinal(kv.Key, from) >= 0 && string.CompareOrdinal(kv.Key, end) < 0).ToList();
            var taken = request.Limit > 0 ? all.Take((int)request.Limit).ToList() : all;
            var response = new RangeResponse { Header = new ResponseHeader { Revision = 42 }, More = taken.Count < all.Count, Count = all.Count };
            foreach (var (key, value) in taken)
            {
                response.Kvs.Add(new Mvccpb.KeyValue { Key = ByteString.CopyFromUtf8(key), Value = request.KeysOnly ? ByteString.Empty : ByteString.CopyFrom(value), ModRevision = 7 });
            }

            var bytes = response.CalculateSize();
            var refused = bytes > receiveLimit;
            Calls.Add((request.Limit, bytes, refused));
            return refused
                ? Task.FromException<RangeResponse>(new RpcException(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size.")))
                : Task.FromResult(response);
        }
    }

    private static RangeRequest Prefix(string prefix) =>
        new() { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFrom(Mesh.Coordinator.MeshKeys.RangeEnd(prefix)) };

    [Test]
    public async Task Seventy_megabytes_of_junk_between_small_values_is_read_in_pages_under_the_receive_limit_in_key_order()
    {
        var etcd = new FakeEtcd();
        var junk = new byte[1_400_000];
        var genuine = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            genuine.Add($"/h/{i * 10:D6}");
            etcd.Put(genuine[^1], "message"u8.ToArray());
            etcd.Put($"/h/{i * 10 + 5:D6}", junk);
        }

        for (var i = 0; i < 6000; i++)
        {
            genuine.Add($"/h/{1_000 + i:D6}");
            etcd.Put(genuine[^1], "after"u8.ToArray());
        }

        var range = new BoundedRange(etcd.RangeAsync);
        var read = await range.ReadAllAsync(Prefix("/h/"), maxValueBytes: 160 * 1024, CancellationToken.None, pageKeys: 5000);

        Assert.That(read.Kvs.Select(kv => kv.Key.ToStringUtf8()), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(read.Kvs.Where(kv => kv.Value.Length > 0).Select(kv => kv.Key.ToStringUtf8()), Is.EqualTo(genuine), "every small value, in order");
        Assert.That(read.Kvs, Has.Count.EqualTo(6100), "junk keys too, their values left out");
        Assert.That(read.ValuesLeftOut, Is.EqualTo(50));
        Assert.That(read.Revision, Is.EqualTo(42));
        var answered = etcd.Calls.Where(c => !c.Refused).ToList();
        Assert.That(answered.Max(c => c.Bytes), Is.LessThanOrEqualTo(ReceiveLimit));
        Assert.That(etcd.Calls.Count(c => c.Refused), Is.LessThanOrEqualTo(8), "a few halvings, not one per value");
        Assert.That(answered.Skip(1).Max(c => c.Bytes), Is.LessThan(16 * 1024 * 1024), "after the first answer, pages near the byte target");
        Assert.That(answered[^1].Limit, Is.GreaterThan(1000), "and large pages again once past the junk");
        TestContext.Out.WriteLine($"{etcd.Calls.Count} calls, {etcd.Calls.Count(c => c.Refused)} refused: {string.Join(' ', etcd.Calls.Select(c => $"{c.Limit}{(c.Refused ? "!" : "")}"))}");
    }

    [Test]
    public async Task A_value_over_the_receive_limit_alone_is_passed_by_its_key_without_its_value()
    {
        var etcd = new FakeEtcd(receiveLimit: 1024 * 1024);
        etcd.Put("/h/1", "a"u8.ToArray());
        etcd.Put("/h/2", new byte[2 * 1024 * 1024]);
        etcd.Put("/h/3", "c"u8.ToArray());
        var range = new BoundedRange(etcd.RangeAsync);

        var read = await range.ReadAllAsync(Prefix("/h/"), maxValueBytes: 1024, CancellationToken.None);
        Assert.That(read.Kvs.Select(kv => (kv.Key.ToStringUtf8(), kv.Value.ToStringUtf8())), Is.EqualTo(new[] { ("/h/1", "a"), ("/h/2", ""), ("/h/3", "c") }));
        Assert.That(read.ValuesLeftOut, Is.EqualTo(1));
    }

    [Test]
    public async Task A_read_stops_at_the_most_keys_asked_for()
    {
        var etcd = new FakeEtcd();
        for (var i = 0; i < 300; i++)
        {
            etcd.Put($"/g/{i:D4}", [1, 2, 3]);
        }

        var read = await new BoundedRange(etcd.RangeAsync).ReadAllAsync(Prefix("/g/"), 1024, CancellationToken.None, maxKeys: 250, pageKeys: 100);
        Assert.That(read.Kvs, Has.Count.EqualTo(250));
        Assert.That(read.Kvs[^1].Key.ToStringUtf8(), Is.EqualTo("/g/0249"));
        Assert.That(etcd.Calls.Select(c => c.Limit), Is.EqualTo(new long[] { 100, 100, 100 }));
    }

    [Test]
    public void Only_answers_over_the_size_limit_count_as_too_large()
    {
        Assert.That(BoundedRange.IsTooLarge(new RpcException(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."))), Is.True);
        Assert.That(BoundedRange.IsTooLarge(new RpcException(new Status(StatusCode.ResourceExhausted, "grpc: trying to send message larger than max (2147483648 vs. 2147483647)"))), Is.True);
        Assert.That(BoundedRange.IsTooLarge(new RpcException(new Status(StatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded"))), Is.False);
        Assert.That(BoundedRange.IsTooLarge(new RpcException(new Status(StatusCode.ResourceExhausted, "etcdserver: too many requests"))), Is.False);
        Assert.That(BoundedRange.IsTooLarge(new RpcException(new Status(StatusCode.Unavailable, "message"))), Is.False);
    }
}
