using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Groups;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.Peer.Identity;
using Mesh.Testing;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

/// <summary>The one commit path, driven as the session drives it (try, answer, follow what holds the index, try again)
/// against the in-memory twin of etcd, with an adversary writing the next index between tries.</summary>
[Category("Unit")]
public sealed class LogCommitterTests
{
    private const long Now = 1_000_000;
    private PeerIdentity _creator = null!;
    private PeerIdentity _other = null!;
    private LogFollower _follower = null!;
    private InMemoryGroupLogStore _etcd = null!;

    [SetUp]
    public async Task Start()
    {
        _creator = Identities.New();
        _other = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, _creator, "amy", Now);
        var log = GroupLog.TryStart("g", genesis.Record, out _)!;
        var keys = new Dictionary<long, GroupKey> { [1] = genesis.NewKey! };
        var add = GroupCommits.Add(log, _creator, Joiners.Of(_other, "bo", log), keys, Now);
        Assert.That(log.TryApply(add.Record, out _), Is.True);
        _follower = new LogFollower(log);
        _etcd = new InMemoryGroupLogStore();
        await _etcd.PutAsync(MeshKeys.LogEntry("g", 1), add.Record, CancellationToken.None);
    }

    [TearDown]
    public void Stop()
    {
        _creator.Dispose();
        _other.Dispose();
    }

    private CommitIntent Removal(List<CommitEnd> ends) =>
        new("remove bo", log => log.Members.ContainsKey(_other.PeerId) ? GroupCommits.Rotate(log, _creator, _other.PeerId, Now) : null, [])
        {
            Then = end =>
            {
                ends.Add(end);
                return Task.CompletedTask;
            },
        };

    /// <summary>Runs the committer to its end as the session does; the number of tries it took.</summary>
    private async Task<int> DriveAsync(LogCommitter committer, List<CommitEnd> ends)
    {
        var tries = 0;
        while (committer.Pending > 0 && tries < 100)
        {
            var ended = new List<(CommitIntent, CommitEnd)>();
            var next = committer.NextTry(_follower.Log, _follower.NextSlotRevision, Now, ended);
            foreach (var (intent, end) in ended)
            {
                await intent.Then!(end);
            }

            if (next is not { } attempt)
            {
                break;
            }

            tries++;
            var result = await _etcd.TryAppendAsync(attempt.Append, CancellationToken.None);
            var head = _follower.Log.Head;
            var key = MeshKeys.LogEntry("g", attempt.Append.Index);
            _follower.Observe([result.Written
                ? new KeyChange(key, false, attempt.Append.Record, 0, 0)
                : result.Occupant is null ? new KeyChange(key, true, [], 0, 0) : new KeyChange(key, false, result.Occupant, result.OccupantRevision, 0)], defend: true, Now);
            if (committer.Completed(result.Written, lostToJunk: !result.Written && _follower.Log.Head == head) is { } done)
            {
                await done.Intent.Then!(done.End);
            }
        }

        return tries;
    }

    [Test]
    public async Task Junk_written_then_deleted_at_the_next_index_costs_a_try_not_the_log()
    {
        // The attack that froze the log: junk seen (with its revision), then deleted before the commit.
        await _etcd.PutAsync(MeshKeys.LogEntry("g", 2), "junk"u8.ToArray(), CancellationToken.None);
        _follower.Observe([new KeyChange(MeshKeys.LogEntry("g", 2), false, "junk"u8.ToArray(), _etcd.Etcd.Get(MeshKeys.LogEntry("g", 2))!.ModRevision, 0)], true, Now);
        await _etcd.DeleteAsync(MeshKeys.LogEntry("g", 2), CancellationToken.None);

        var ends = new List<CommitEnd>();
        var committer = new LogCommitter();
        committer.Enqueue(Removal(ends));
        var tries = await DriveAsync(committer, ends);

        Assert.That(ends, Is.EqualTo(new[] { CommitEnd.Landed }));
        Assert.That(tries, Is.LessThanOrEqualTo(2));
        Assert.That(_follower.Log.Members.ContainsKey(_other.PeerId), Is.False);
    }

    [Test]
    public async Task Junk_rewritten_before_every_try_for_a_while_is_replaced_once_the_writer_pauses()
    {
        var writes = 0;
        _etcd.BeforeTry = append =>
        {
            // A writer as fast as the peer for the first five tries: each try finds a revision newer than the one it saw.
            if (++writes <= 5)
            {
                _etcd.PutAsync(MeshKeys.LogEntry("g", append.Index), System.Text.Encoding.UTF8.GetBytes($"junk {writes}"), CancellationToken.None).Wait();
            }
        };

        var ends = new List<CommitEnd>();
        var committer = new LogCommitter();
        committer.Enqueue(Removal(ends));
        var tries = await DriveAsync(committer, ends);

        Assert.That(ends, Is.EqualTo(new[] { CommitEnd.Landed }));
        Assert.That(tries, Is.EqualTo(6));
    }

    [Test]
    public async Task A_writer_faster_than_every_try_makes_the_intent_give_up_after_a_bounded_number_of_tries()
    {
        var writes = 0;
        _etcd.BeforeTry = append => _etcd.PutAsync(MeshKeys.LogEntry("g", append.Index), System.Text.Encoding.UTF8.GetBytes($"junk {++writes}"), CancellationToken.None).Wait();

        var ends = new List<CommitEnd>();
        var committer = new LogCommitter();
        committer.Enqueue(Removal(ends));
        var tries = await DriveAsync(committer, ends);

        Assert.That(ends, Is.EqualTo(new[] { CommitEnd.GaveUp }));
        Assert.That(tries, Is.EqualTo(LogCommitter.MaxJunkTries));
        Assert.That(committer.Pending, Is.EqualTo(0));
    }

    [Test]
    public async Task An_intent_that_loses_to_another_members_entry_is_built_again_on_top_of_it_or_ends_as_not_needed()
    {
        // Another member removed bo first: the removal here is no longer needed, and nothing is written twice.
        var theirs = GroupCommits.Rotate(_follower.Log, _creator, _other.PeerId, Now);
        await _etcd.TryAppendAsync(new LogAppend("g", theirs.Index, theirs.Record, [], [], 0), CancellationToken.None);

        var ends = new List<CommitEnd>();
        var committer = new LogCommitter();
        committer.Enqueue(Removal(ends));
        var tries = await DriveAsync(committer, ends);

        Assert.That(ends, Is.EqualTo(new[] { CommitEnd.NotNeeded }));
        Assert.That(tries, Is.EqualTo(1));
        Assert.That(_follower.Log.Head, Is.EqualTo(2));
    }

    [Test]
    public async Task Intents_go_one_at_a_time_in_the_order_queued()
    {
        var ends = new List<CommitEnd>();
        var committer = new LogCommitter();
        committer.Enqueue(new CommitIntent("admin bo", log => log.Members.TryGetValue(_other.PeerId, out var m) && !m.Admin ? GroupCommits.Admin(log, _creator, _other.PeerId, Now) : null, [])
        {
            Then = end =>
            {
                ends.Add(end);
                return Task.CompletedTask;
            },
        });
        committer.Enqueue(Removal(ends));

        var first = committer.NextTry(_follower.Log, 0, Now, []);
        Assert.That(committer.NextTry(_follower.Log, 0, Now, []), Is.Null, "one try in flight");
        Assert.That(first!.Value.Append.Index, Is.EqualTo(2));
        committer.Failed(Now);
        Assert.That(committer.NextTry(_follower.Log, 0, Now + 10, []), Is.Null, "after etcd did not answer, a pause");
        await DriveAsyncAt(committer, ends, Now + (long)LogCommitter.RetryAfter.TotalMilliseconds);

        Assert.That(ends, Is.EqualTo(new[] { CommitEnd.Landed, CommitEnd.Landed }));
        Assert.That(_follower.Log.Head, Is.EqualTo(3));
        Assert.That(LogEntry.TryParse(_follower.Log.RecordAt(2), out _)!.Op, Is.EqualTo(LogOp.Admin));
    }

    private async Task DriveAsyncAt(LogCommitter committer, List<CommitEnd> ends, long nowMs)
    {
        while (committer.NextTry(_follower.Log, _follower.NextSlotRevision, nowMs, []) is { } attempt)
        {
            var result = await _etcd.TryAppendAsync(attempt.Append, CancellationToken.None);
            _follower.Observe([new KeyChange(MeshKeys.LogEntry("g", attempt.Append.Index), false, result.Written ? attempt.Append.Record : result.Occupant!, result.OccupantRevision, 0)], true, nowMs);
            if (committer.Completed(result.Written, lostToJunk: false) is { } done)
            {
                await done.Intent.Then!(done.End);
            }
        }
    }
}
