using System.Text;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What every <see cref="IGroupLogAppender"/> must do; run against the in-memory twin and against real etcd. An
/// adversary writes the same keys through the same port (any etcd user can).</summary>
public abstract class GroupLogAppenderContract
{
    protected abstract IGroupLogAppender Store { get; }

    private static LogAppend Append(string group, long index, string text, long occupant = 0,
        IReadOnlyList<(string, byte[])>? alongside = null, IReadOnlyList<(long, byte[])>? following = null) =>
        new(group, index, Encoding.UTF8.GetBytes(text), alongside ?? [], following ?? [], occupant);

    [Test]
    public async Task A_free_index_is_written_once_and_a_second_writer_is_told_what_holds_it()
    {
        var group = $"a-{Guid.NewGuid():N}";
        var first = await Store.TryAppendAsync(Append(group, 1, "first", alongside: [(group + "/grant", "g"u8.ToArray())]), CancellationToken.None);
        var second = await Store.TryAppendAsync(Append(group, 1, "second"), CancellationToken.None);

        Assert.That(first.Written, Is.True);
        Assert.That(second.Written, Is.False);
        Assert.That(Encoding.UTF8.GetString(second.Occupant!), Is.EqualTo("first"));
        Assert.That(second.OccupantRevision, Is.GreaterThan(0));
    }

    [Test]
    public async Task Junk_at_the_index_is_replaced_only_at_the_revision_seen_and_a_deleted_one_frees_the_index()
    {
        var group = $"j-{Guid.NewGuid():N}";
        var key = MeshKeys.LogEntry(group, 1);
        await Store.PutAsync(key, "junk"u8.ToArray(), CancellationToken.None);
        var lost = await Store.TryAppendAsync(Append(group, 1, "entry"), CancellationToken.None);
        Assert.That(lost.Written, Is.False);
        Assert.That(Encoding.UTF8.GetString(lost.Occupant!), Is.EqualTo("junk"));

        // Rewritten after it was seen: the old revision no longer replaces it, and the answer names the new one.
        await Store.PutAsync(key, "junk 2"u8.ToArray(), CancellationToken.None);
        var stale = await Store.TryAppendAsync(Append(group, 1, "entry", lost.OccupantRevision), CancellationToken.None);
        Assert.That(stale.Written, Is.False);
        Assert.That(stale.OccupantRevision, Is.GreaterThan(lost.OccupantRevision));

        // Deleted: the answer says the index is free, and a create-only try lands.
        await Store.DeleteAsync(key, CancellationToken.None);
        var gone = await Store.TryAppendAsync(Append(group, 1, "entry", stale.OccupantRevision), CancellationToken.None);
        Assert.That(gone.Written, Is.False);
        Assert.That(gone.Occupant, Is.Null);
        Assert.That(gone.OccupantRevision, Is.EqualTo(0));
        Assert.That((await Store.TryAppendAsync(Append(group, 1, "entry", gone.OccupantRevision), CancellationToken.None)).Written, Is.True);
    }

    [Test]
    public async Task Junk_replaced_at_its_revision_and_chained_entries_go_in_one_transaction_or_not_at_all()
    {
        var group = $"c-{Guid.NewGuid():N}";
        await Store.PutAsync(MeshKeys.LogEntry(group, 1), "junk"u8.ToArray(), CancellationToken.None);
        await Store.PutAsync(MeshKeys.LogEntry(group, 3), "taken"u8.ToArray(), CancellationToken.None);
        var seen = await Store.TryAppendAsync(Append(group, 1, "one"), CancellationToken.None);

        var blocked = await Store.TryAppendAsync(Append(group, 1, "one", seen.OccupantRevision, following: [(2, "two"u8.ToArray()), (3, "three"u8.ToArray())]), CancellationToken.None);
        Assert.That(blocked.Written, Is.False, "a chained index is taken: nothing is written");
        Assert.That(Encoding.UTF8.GetString(blocked.Occupant!), Is.EqualTo("junk"));

        var landed = await Store.TryAppendAsync(Append(group, 1, "one", seen.OccupantRevision, following: [(2, "two"u8.ToArray())]), CancellationToken.None);
        Assert.That(landed.Written, Is.True);
        var again = await Store.TryAppendAsync(Append(group, 2, "other"), CancellationToken.None);
        Assert.That(Encoding.UTF8.GetString(again.Occupant!), Is.EqualTo("two"));
    }
}

[Category("Unit")]
public sealed class InMemoryGroupLogAppenderContract : GroupLogAppenderContract
{
    protected override IGroupLogAppender Store { get; } = new InMemoryGroupLogStore();
}

[Category("Integration")]
public sealed class EtcdGroupLogAppenderContract : GroupLogAppenderContract
{
    private EtcdProcess _etcd = null!;
    private EtcdConnection _connection = null!;

    protected override IGroupLogAppender Store => new GroupLogStore(_connection);

    [OneTimeSetUp]
    public async Task Start()
    {
        _etcd = await EtcdProcess.StartAsync();
        _connection = new EtcdConnection([_etcd.Url]);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _connection?.Dispose();
        _etcd?.Dispose();
    }
}
