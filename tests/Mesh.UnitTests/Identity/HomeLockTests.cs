using Mesh.Peer.Configuration;
using Mesh.Peer.Identity;

namespace Mesh.UnitTests.Identity;

[Category("Unit")]
public sealed class HomeLockTests
{
    private string _home = "";

    [SetUp]
    public void NewHome()
    {
        _home = Path.Combine(Path.GetTempPath(), $"mesh-unit-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_home);
    }

    [TearDown]
    public void RemoveHome() => Directory.Delete(_home, recursive: true);

    [Test]
    public async Task A_free_home_is_taken_at_once_without_a_word()
    {
        var told = new List<string>();
        using var taken = await HomeLock.AcquireAsync(_home, TimeSpan.FromSeconds(5), told.Add);
        Assert.That(told, Is.Empty);
    }

    [Test]
    public async Task A_home_held_by_a_peer_that_exits_is_taken_once_it_is_released_after_one_waiting_line()
    {
        var first = await HomeLock.AcquireAsync(_home, TimeSpan.FromSeconds(5), _ => { });
        var told = new List<string>();
        using var second = await HomeLock.AcquireAsync(_home, TimeSpan.FromSeconds(30), line =>
        {
            told.Add(line);
            first.Dispose();
        });
        Assert.That(told, Has.Count.EqualTo(1));
        Assert.That(told[0], Does.Contain("waiting").And.Contain(_home));
    }

    [Test]
    public async Task A_home_held_throughout_is_refused_in_one_line_naming_it()
    {
        using var first = await HomeLock.AcquireAsync(_home, TimeSpan.FromSeconds(5), _ => { });
        var told = new List<string>();
        var refusal = Assert.ThrowsAsync<MeshException>(() => HomeLock.AcquireAsync(_home, TimeSpan.FromMilliseconds(300), told.Add));
        Assert.That(refusal!.Message, Does.Contain("already running").And.Contain(_home).And.Not.Contain("\n"));
        Assert.That(told, Has.Count.EqualTo(1), "waiting said once, not once a poll");
        await Task.CompletedTask;
    }

    [Test]
    public void A_home_where_no_lock_file_can_be_made_is_one_line_naming_the_file_not_a_wait()
    {
        var notADirectory = Path.Combine(_home, "a-file");
        File.WriteAllText(notADirectory, "");
        var told = new List<string>();
        var refusal = Assert.ThrowsAsync<MeshException>(() => HomeLock.AcquireAsync(notADirectory, TimeSpan.FromSeconds(30), told.Add));
        Assert.That(refusal!.Message, Does.StartWith("cannot open or create the lock file " + Path.Combine(notADirectory, "peer.lock")).And.Not.Contain("\n"));
        Assert.That(told, Is.Empty, "nothing to wait for");
    }
}
