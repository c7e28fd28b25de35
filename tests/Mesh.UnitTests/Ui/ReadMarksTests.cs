using Mesh.Peer.Configuration;
using Mesh.Peer.Session;
using Mesh.Peer.Ui;

namespace Mesh.UnitTests.Ui;

/// <summary>The contract every read-marks store keeps, run against the file and its in-memory twin.</summary>
[Category("Unit")]
[TestFixture(true)]
[TestFixture(false)]
public sealed class ReadMarksContractTests(bool onDisk)
{
    private string _home = "";
    private IReadMarks _store = null!;

    [SetUp]
    public void Open()
    {
        _home = Directory.CreateTempSubdirectory("mesh-marks-").FullName;
        _store = onDisk ? new ReadMarksFile(_home) : new InMemoryReadMarks();
    }

    [TearDown]
    public void Remove() => Directory.Delete(_home, recursive: true);

    [Test]
    public void Nothing_kept_is_empty_and_a_saved_set_comes_back_whole_replacing_the_last()
    {
        Assert.That(_store.Load(), Is.Empty);
        _store.Save(new Dictionary<string, string> { ["ops"] = "0000000000003-a-1-0000000003", ["dev"] = "0000000000001-b-1-0000000001" });
        _store.Save(new Dictionary<string, string> { ["ops"] = "0000000000009-a-1-0000000009" });
        Assert.That(_store.Load(), Is.EqualTo(new Dictionary<string, string> { ["ops"] = "0000000000009-a-1-0000000009" }));
    }
}

[Category("Unit")]
public sealed class ReadMarksFileTests
{
    private string _home = "";

    [SetUp]
    public void Open() => _home = Directory.CreateTempSubdirectory("mesh-marks-").FullName;

    [TearDown]
    public void Remove() => Directory.Delete(_home, recursive: true);

    [Test]
    public void The_file_is_the_owners_alone()
    {
        var file = new ReadMarksFile(_home);
        file.Save(new Dictionary<string, string> { ["ops"] = "k1" });
        Assert.That(File.GetUnixFileMode(file.Path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [TestCase("not json", "not JSON")]
    [TestCase("[1,2]", "no \"groups\" object")]
    [TestCase("{\"groups\":[]}", "no \"groups\" object")]
    public void A_bad_file_is_one_line_naming_it(string content, string said)
    {
        var file = new ReadMarksFile(_home);
        File.WriteAllText(file.Path, content);
        var error = Assert.Throws<MeshException>(() => file.Load())!;
        Assert.That(error.Message, Does.StartWith(file.Path).And.Contain(said).And.Not.Contain("\n"));
    }

    [Test]
    public void Entries_that_are_not_a_group_and_a_key_are_dropped_and_the_rest_kept()
    {
        var marks = ReadMarksFile.Parse(
            "{\"groups\":{\"ops\":\"k1\",\"bad name!\":\"k2\",\"dev\":7,\"lab\":\"with\\u001b[31m escape\",\"big\":\"" + new string('x', 500) + "\"}}", "t");
        Assert.That(marks, Is.EqualTo(new Dictionary<string, string> { ["ops"] = "k1" }));
    }

    [Test]
    public void A_file_bigger_than_marks_take_is_not_read()
    {
        var file = new ReadMarksFile(_home);
        File.WriteAllText(file.Path, new string(' ', ReadMarksFile.MaxBytes + 1));
        Assert.That(Assert.Throws<MeshException>(() => file.Load())!.Message, Does.Contain("more than read marks take"));
    }

    [Test]
    public async Task The_saver_writes_the_newest_set_off_the_caller_and_says_a_failure_once()
    {
        var store = new InMemoryReadMarks();
        var saver = new ReadMarksSaver(store, _ => { });
        for (var i = 0; i < 100; i++)
        {
            saver.Offer(new Dictionary<string, string> { ["ops"] = $"k{i:D3}" });
        }

        await saver.FlushAsync();
        Assert.That(store.Load()["ops"], Is.EqualTo("k099"), "the newest set is the one kept");
        Assert.That(store.Saves, Is.InRange(1, 100));

        var failures = new List<string>();
        var broken = new ReadMarksSaver(new ReadMarksFile(Path.Combine(_home, "no", "such", "dir")), failures.Add);
        broken.Offer(new Dictionary<string, string> { ["ops"] = "k1" });
        await broken.FlushAsync();
        broken.Offer(new Dictionary<string, string> { ["ops"] = "k2" });
        await broken.FlushAsync();
        Assert.That(failures, Has.Count.EqualTo(1), "one line per failure streak");
        Assert.That(failures[0], Does.Contain("cannot write"));
    }
}

[Category("Unit")]
public sealed class ReadStateTests
{
    private static MessageEvent Message(string text, int n, string from = "bo") =>
        new("ops", "id-" + n, from, text, DateTimeOffset.UnixEpoch, Own: false) { Key = $"{n:D13}-a-1-{n:D10}" };

    [Test]
    public void After_a_restart_the_marker_and_the_unread_and_mention_counts_are_where_they_were()
    {
        var before = new ChatModel("amy", "abcd");
        before.Group("dev");
        before.Group("ops");
        before.Apply(new ReadyEvent("dev", ["amy"]), DateTimeOffset.UnixEpoch);
        before.Apply(new ReadyEvent("ops", ["amy"]), DateTimeOffset.UnixEpoch);
        before.SwitchTo("ops");
        before.Apply(Message("one", 1), DateTimeOffset.UnixEpoch);
        before.Apply(Message("two", 2), DateTimeOffset.UnixEpoch);
        before.SwitchTo("dev");
        before.Apply(Message("three", 3), DateTimeOffset.UnixEpoch);
        before.Apply(Message("amy: four", 4), DateTimeOffset.UnixEpoch);
        Assert.That(before.Group("ops").Unread, Is.EqualTo(2));
        var kept = before.TakeReadMarks()!;
        Assert.That(kept["ops"], Is.EqualTo(Message("", 2).Key), "ops was read up to two");

        var after = new ChatModel("amy", "abcd");
        after.RestoreReadMarks(kept);
        after.Group("dev");
        after.Group("ops");
        foreach (var n in new[] { 1, 2, 3, 4 })
        {
            after.Apply(Message(n == 4 ? "amy: four" : "m" + n, n), DateTimeOffset.UnixEpoch);
        }

        after.Apply(new ReadyEvent("ops", ["amy"]), DateTimeOffset.UnixEpoch);
        var ops = after.Group("ops");
        Assert.That(ops.Unread, Is.EqualTo(2), "the two after the mark");
        Assert.That(ops.UnreadMentions, Is.EqualTo(1));
        Assert.That(ops.Lines[ops.MarkerIndex].Text, Is.EqualTo("m3"), "the marker above the first unread");
        Assert.That(after.Group("dev").Unread, Is.Zero, "dev was shown: read");
        after.SwitchTo("ops");
        Assert.That(after.TakeReadMarks()!["ops"], Is.EqualTo(Message("", 4).Key), "shown: read to the newest");
    }

    [Test]
    public void A_group_seen_while_empty_counts_everything_after_as_unread_after_a_restart()
    {
        var before = new ChatModel("amy", "abcd");
        before.Group("ops");
        before.Group("dev");
        before.Apply(new ReadyEvent("ops", ["amy"]), DateTimeOffset.UnixEpoch);
        before.Apply(new ReadyEvent("dev", ["amy"]), DateTimeOffset.UnixEpoch);
        before.SwitchTo("dev");
        before.Apply(Message("one", 1), DateTimeOffset.UnixEpoch);
        var after = new ChatModel("amy", "abcd");
        after.RestoreReadMarks(before.ReadMarks());
        after.Group("dev");
        after.Group("ops");
        after.Apply(Message("one", 1), DateTimeOffset.UnixEpoch);
        Assert.That(after.Group("ops").Unread, Is.EqualTo(1));
    }
}
