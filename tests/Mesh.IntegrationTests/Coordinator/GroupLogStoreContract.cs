using Mesh.Coordinator;
using Mesh.Coordinator.Groups;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="IGroupLogStore"/> must do beyond appending (<see cref="GroupLogAppenderContract"/>);
/// run against the in-memory twin and against real etcd.</summary>
public abstract class GroupLogStoreContract : PortContract
{
    private IGroupLogStore Store => Ports.LogStore;

    [Test]
    public async Task The_genesis_is_written_once_and_a_read_gives_it_with_the_entries_by_index_at_one_revision()
    {
        var group = Unique("g");
        var (none, nothing, _) = await Store.ReadAsync(group, None);
        Assert.That(none, Is.Null, "no such group");
        Assert.That(nothing, Is.Empty);

        Assert.That(await Store.TryAppendAsync(group, 0, Bytes("genesis"), [], None), Is.True);
        Assert.That(await Store.TryAppendAsync(group, 0, Bytes("rival"), [], None), Is.False, "create-only");
        foreach (var index in new[] { 10, 2, 1 })
        {
            Assert.That(await Store.TryAppendAsync(group, index, Bytes($"entry {index}"), [], None), Is.True);
        }

        await Store.PutAsync(MeshKeys.LogPrefix(group) + "junk", Bytes("not an index"), None);
        await Store.PutAsync(MeshKeys.LogPrefix(group + "x") + "0000000003", Bytes("another group's"), None);

        var (genesis, entries, revision) = await Store.ReadAsync(group, None);
        Assert.That(Text(genesis!), Is.EqualTo("genesis"));
        Assert.That(entries.Select(e => (e.Index, Text(e.Value))), Is.EqualTo(new[] { (1L, "entry 1"), (2L, "entry 2"), (10L, "entry 10") }));
        Assert.That(revision, Is.EqualTo(await Ports.Info.CurrentRevisionAsync(None)));
    }

    [Test]
    public async Task The_entries_after_an_index_come_in_order_with_the_revisions_they_were_written_at()
    {
        var group = Unique("a");
        for (var index = 1; index <= 3; index++)
        {
            Assert.That(await Store.TryAppendAsync(group, index, Bytes($"entry {index}"), [], None), Is.True);
        }

        var after = await Store.ReadAfterAsync(group, 1, None);
        Assert.That(after.Select(c => c.Key), Is.EqualTo(new[] { MeshKeys.LogEntry(group, 2), MeshKeys.LogEntry(group, 3) }));
        Assert.That(after.Select(c => Text(c.Value)), Is.EqualTo(new[] { "entry 2", "entry 3" }));
        Assert.That(after.Any(c => c.IsDelete), Is.False);
        Assert.That(after[0].ModRevision, Is.EqualTo((await Store.GetAsync(MeshKeys.LogEntry(group, 2), None))!.Value.ModRevision));
        Assert.That(await Store.ReadAfterAsync(group, 3, None), Is.Empty);
    }

    [Test]
    public async Task Repair_puts_back_an_entry_that_was_deleted_or_altered()
    {
        var group = Unique("r");
        Assert.That(await Store.TryAppendAsync(group, 1, Bytes("one"), [], None), Is.True);
        Assert.That(await Store.TryAppendAsync(group, 2, Bytes("two"), [], None), Is.True);
        await Store.DeleteAsync(MeshKeys.LogEntry(group, 2), None);
        await Store.PutAsync(MeshKeys.LogEntry(group, 1), Bytes("altered"), None);

        await Store.RepairAsync(group, 1, Bytes("one"), None);
        await Store.RepairAsync(group, 2, Bytes("two"), None);

        var (_, entries, _) = await Store.ReadAsync(group, None);
        Assert.That(entries.Select(e => Text(e.Value)), Is.EqualTo(new[] { "one", "two" }));
    }

    [Test]
    public async Task A_list_gives_a_prefix_in_key_order_up_to_its_limit_as_of_one_revision()
    {
        var prefix = MeshKeys.AdmitPrefix(Unique("l"));
        foreach (var name in new[] { "c", "a", "d", "b" })
        {
            await Store.PutAsync(prefix + name, Bytes(name), None);
        }

        await Store.PutAsync(prefix[..^1] + "x/e", Bytes("beside"), None);

        var (some, revision) = await Store.ListAsync(prefix, 3, None);
        Assert.That(some.Select(v => v.Key[prefix.Length..]), Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(some.Select(v => Text(v.Value)), Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(revision, Is.EqualTo(await Ports.Info.CurrentRevisionAsync(None)));
        Assert.That((await Store.ListAsync(prefix, 1000, None)).Values, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task An_invite_is_redeemed_once_and_never_after_it_was_written_again()
    {
        var group = Unique("i");
        var invite = MeshKeys.Invite(group, "inv1");
        await Store.PutAsync(invite, Bytes("invite"), None);
        var read = (await Store.GetAsync(invite, None))!.Value;
        Assert.That(Text(read.Value), Is.EqualTo("invite"));

        Assert.That(await Store.RedeemAsync(invite, read.ModRevision, MeshKeys.Admit(group, "amy"), Bytes("amy asks"), None), Is.True);
        Assert.That(await Store.GetAsync(invite, None), Is.Null, "the invite is used up");
        Assert.That(Text((await Store.GetAsync(MeshKeys.Admit(group, "amy"), None))!.Value.Value), Is.EqualTo("amy asks"));
        Assert.That(await Store.RedeemAsync(invite, read.ModRevision, MeshKeys.Admit(group, "bo"), Bytes("bo asks"), None), Is.False, "once");
        Assert.That(await Store.GetAsync(MeshKeys.Admit(group, "bo"), None), Is.Null, "a refused redemption writes nothing");

        var second = MeshKeys.Invite(group, "inv2");
        await Store.PutAsync(second, Bytes("invite"), None);
        var seen = (await Store.GetAsync(second, None))!.Value.ModRevision;
        await Store.PutAsync(second, Bytes("written again"), None);
        Assert.That(await Store.RedeemAsync(second, seen, MeshKeys.Admit(group, "cy"), Bytes("cy asks"), None), Is.False);
        Assert.That(await Store.GetAsync(second, None), Is.Not.Null);
    }

    [Test]
    public async Task A_value_larger_than_any_record_is_read_empty_in_its_place()
    {
        var group = Unique("big");
        var junk = new byte[GroupLogStore.MaxValueBytes + 1];
        await Store.PutAsync(MeshKeys.LogEntry(group, 1), junk, None);
        Assert.That(await Store.TryAppendAsync(group, 2, Bytes("two"), [], None), Is.True);

        var (_, entries, _) = await Store.ReadAsync(group, None);
        Assert.That(entries.Select(e => (e.Index, e.Value.Length)), Is.EqualTo(new[] { (1L, 0), (2L, 3) }));
        Assert.That((await Store.ReadAfterAsync(group, 0, None)).Select(c => c.Value.Length), Is.EqualTo(new[] { 0, 3 }));
        Assert.That((await Store.ListAsync(MeshKeys.LogPrefix(group), 10, None)).Values.Select(v => v.Value.Length), Is.EqualTo(new[] { 0, 3 }));
        Assert.That((await Store.GetAsync(MeshKeys.LogEntry(group, 1), None))!.Value.Value, Has.Length.EqualTo(junk.Length), "a key asked for is read whole");
    }
}

[Category("Unit")]
public sealed class InMemoryGroupLogStoreContract : GroupLogStoreContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => InMemoryPorts.StartAsync();
}

[Category("Integration")]
public sealed class EtcdGroupLogStoreContract : GroupLogStoreContract
{
    protected override Task<PortsUnderTest> StartPortsAsync() => EtcdPorts.StartAsync();
}
