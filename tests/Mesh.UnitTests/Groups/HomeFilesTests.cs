using Mesh.Peer.Configuration;
using Mesh.Peer.Crypto;
using Mesh.Peer.Groups;
using Mesh.UnitTests.Protocol;

namespace Mesh.UnitTests.Groups;

[Category("Unit")]
public sealed class HomeFilesTests
{
    private string _home = null!;

    [SetUp]
    public void Home() => Directory.CreateDirectory(_home = Path.Combine(Path.GetTempPath(), $"mesh-unit-{Guid.NewGuid():N}"));

    [TearDown]
    public void Clean() => Directory.Delete(_home, recursive: true);

    [Test]
    public void Epoch_keys_are_kept_in_an_owner_only_file_and_read_back()
    {
        using var one = GroupKey.Create();
        using var two = GroupKey.Create();
        new EpochKeyring(_home).Save("g", [(1, one), (2, two)]);
        var path = Path.Combine(_home, "keys", "g.epochs");
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var again = new EpochKeyring(_home);
        Assert.That(again.TryGet("g", 2)!.Check("g", 2), Is.EqualTo(two.Check("g", 2)));
        Assert.That(again.TryGet("g", 3), Is.Null);

        File.WriteAllText(path, "{\"1\":\"not base64!\"}");
        var e = Assert.Throws<MeshException>(() => new EpochKeyring(_home).Of("g"));
        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void The_home_copy_of_a_log_reads_back_and_a_damaged_one_is_named_in_one_line()
    {
        using var creator = Identities.New();
        var genesis = GroupCommits.Genesis("g", LogEntry.Open, creator, "amy", 1);
        var log = GroupLog.TryStart("g", genesis.Record, out _)!;
        log.TryApply(GroupCommits.Rotate(log, creator, null, 2).Record, out _);
        var copy = new GroupLogCopy(_home);
        copy.Save(log);
        Assert.That(copy.Load("g")!.HeadHash, Is.EqualTo(log.HeadHash));
        Assert.That(copy.Load("other"), Is.Null);

        var path = Path.Combine(_home, "groups", "g.log");
        var lines = File.ReadAllLines(path);
        var bytes = Convert.FromBase64String(lines[1]);
        bytes[bytes.Length / 2] ^= 1;
        lines[1] = Convert.ToBase64String(bytes);
        File.WriteAllLines(path, lines);
        var e = Assert.Throws<MeshException>(() => copy.Load("g"));
        Assert.That(e!.Message, Does.Contain("line 2").And.Contain(path));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }
}
