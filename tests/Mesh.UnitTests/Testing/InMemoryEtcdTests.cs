using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.History;
using Mesh.Coordinator.Registry;
using Mesh.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.UnitTests.Testing;

/// <summary>What the in-memory etcd keeps of etcd beyond the port contracts (which run against both): time, revisions
/// gone by, byte order, an etcd out of reach.</summary>
[Category("Unit")]
public sealed class InMemoryEtcdTests
{
    private static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    [Test]
    public void A_lease_expires_on_the_clock_unless_kept_alive_and_its_keys_go_at_one_revision()
    {
        var time = new FakeTimeProvider();
        using var etcd = new InMemoryEtcd(time);
        var lease = etcd.GrantLease(TimeSpan.FromSeconds(10));
        etcd.Put("/k/a", Bytes("a"), lease);
        etcd.Put("/k/b", Bytes("b"), lease);
        etcd.Put("/k/c", Bytes("c"));

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.That(etcd.KeepAlive(lease), Is.True);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.That(etcd.Range("/k/").Values, Has.Count.EqualTo(3), "kept alive");
        var before = etcd.Revision;

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(etcd.Range("/k/").Values.Select(v => v.Key), Is.EqualTo(new[] { "/k/c" }));
        Assert.That(etcd.Revision, Is.EqualTo(before + 1));
        Assert.That(etcd.KeepAlive(lease), Is.False);
        Assert.That(() => etcd.Put("/k/d", Bytes("d"), lease), Throws.TypeOf<EtcdUnavailableException>());
    }

    [Test]
    public async Task A_presence_cut_off_says_so_and_once_back_after_its_lease_expired_registers_again()
    {
        var time = new FakeTimeProvider();
        using var etcd = new InMemoryEtcd(time);
        await using var presence = new InMemoryPresence(etcd, TimeSpan.FromSeconds(3));
        var states = new List<RegistrationState>();
        var retries = 0;
        presence.StateChanged += states.Add;
        presence.Retrying += _ => retries++;
        await presence.StartAsync("/mesh/peers/amy", Bytes("amy"), CancellationToken.None);
        var first = presence.LeaseId;

        etcd.Reachable = false;
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(states, Is.EqualTo(new[] { RegistrationState.Unreachable }));
        Assert.That(retries, Is.EqualTo(1));
        Assert.That(async () => await presence.PutAsync("/mesh/members/g/amy", Bytes("m"), CancellationToken.None), Throws.TypeOf<EtcdUnavailableException>());

        time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.That(etcd.Leases, Does.Not.Contain(first), "expired while out of reach");

        etcd.Reachable = true;
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(states, Is.EqualTo(new[] { RegistrationState.Unreachable, RegistrationState.Lost, RegistrationState.Restored }));
        Assert.That(etcd.Get("/mesh/peers/amy")!.Lease, Is.EqualTo(presence.LeaseId).And.Not.EqualTo(first));
        Assert.That(etcd.Get("/mesh/members/g/amy")!.Lease, Is.EqualTo(presence.LeaseId), "a key put while cut off is written with the rest");
    }

    [Test]
    public async Task Reads_at_a_revision_see_the_store_as_it_was_until_compacted()
    {
        using var etcd = new InMemoryEtcd();
        var history = new InMemoryHistoryStore(etcd);
        var one = etcd.Put("/k/a", Bytes("1"));
        await history.AppendAsync([new HistoryEntry("g", "0001", Bytes("m"))], CancellationToken.None);
        var two = etcd.Put("/k/a", Bytes("2"));
        Assert.That(etcd.Delete("/k/a"), Is.True);

        Assert.That(etcd.Get("/k/a", one)!.Value, Is.EqualTo(Bytes("1")));
        Assert.That(etcd.Get("/k/a", two)!.Version, Is.EqualTo(2));
        Assert.That(etcd.Get("/k/a"), Is.Null);
        Assert.That(await history.CountAsync("g", one, CancellationToken.None), Is.Zero, "not written yet then");
        Assert.That(await history.CountAsync("g", two, CancellationToken.None), Is.EqualTo(1));

        etcd.Compact(two);
        Assert.That(() => etcd.Get("/k/a", one), Throws.TypeOf<RevisionCompactedException>());
        Assert.That(etcd.Get("/k/a", two)!.Value, Is.EqualTo(Bytes("2")), "the revision compacted to is kept");
        Assert.That(await history.CountAsync("g", one, CancellationToken.None), Is.Null);
        Assert.That(etcd.Put("/k/a", Bytes("3")), Is.EqualTo(etcd.Revision));
        Assert.That(etcd.Get("/k/a")!.CreateRevision, Is.EqualTo(etcd.Revision), "created anew after its deletion");
    }

    [Test]
    public void Keys_are_in_etcds_byte_order_not_in_utf16_order()
    {
        using var etcd = new InMemoryEtcd();
        etcd.Put("/k/\U0001F600", Bytes("astral"));
        etcd.Put("/k/\uFFFD", Bytes("bmp"));
        etcd.Put("/k/a", Bytes("ascii"));
        Assert.That(etcd.Range("/k/").Values.Select(v => System.Text.Encoding.UTF8.GetString(v.Value)), Is.EqualTo(new[] { "ascii", "bmp", "astral" }));
    }

    [Test]
    public async Task A_watch_hands_over_nothing_while_the_store_is_out_of_reach_and_catches_up_after()
    {
        using var etcd = new InMemoryEtcd();
        var seen = new List<KeyChange>();
        await using (new InMemoryWatches(etcd).Start("/k/", etcd.Revision + 1, changes =>
        {
            lock (seen)
            {
                seen.AddRange(changes);
            }

            return ValueTask.CompletedTask;
        }))
        {
            var lease = etcd.GrantLease(TimeSpan.FromMinutes(1));
            etcd.Put("/k/a", Bytes("a"), lease);
            etcd.Reachable = false;
            etcd.ExpireLease(lease);
            await Task.Delay(50);
            lock (seen)
            {
                Assert.That(seen, Has.Count.LessThanOrEqualTo(1), "the deletion is not handed over while out of reach");
            }

            etcd.Reachable = true;
            await Waiting.UntilAsync(() => seen.Count == 2, TimeSpan.FromSeconds(5), "the put and its deletion");
        }

        Assert.That(seen.Select(c => c.IsDelete), Is.EqualTo(new[] { false, true }));
    }
}
