using Mesh.Peer.Configuration;
using Mesh.Peer.Identity;

namespace Mesh.UnitTests.Identity;

[Category("Unit")]
public sealed class IdentityStoreTests
{
    private string _home = "";

    [SetUp]
    public void NewHome() => _home = Path.Combine(Path.GetTempPath(), $"mesh-unit-{Guid.NewGuid():N}");

    [TearDown]
    public void RemoveHome()
    {
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }

    [Test]
    public void The_secret_key_file_is_owner_only_and_the_identity_survives_a_reload()
    {
        var first = IdentityStore.LoadOrCreate(_home);
        var secret = Path.Combine(_home, IdentityStore.SecretFile);
        Assert.That(File.GetUnixFileMode(secret), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(_home), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        var second = IdentityStore.LoadOrCreate(_home);
        Assert.That(second.PeerId, Is.EqualTo(first.PeerId));
        Assert.That(second.PublicKeyZ85, Is.EqualTo(first.PublicKeyZ85));
        Assert.That(first.PeerId, Has.Length.EqualTo(32));
        Assert.That(File.GetUnixFileMode(Path.Combine(_home, IdentityStore.SigningFile)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public void A_secret_key_readable_by_others_is_refused()
    {
        IdentityStore.LoadOrCreate(_home);
        var secret = Path.Combine(_home, IdentityStore.SecretFile);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var e = Assert.Throws<MeshException>(() => IdentityStore.LoadOrCreate(_home))!;
        Assert.That(e.Message, Does.Contain("chmod 600"));
    }

    [Test]
    public void A_corrupt_secret_key_is_a_clear_error()
    {
        IdentityStore.LoadOrCreate(_home);
        File.WriteAllText(Path.Combine(_home, IdentityStore.SecretFile), "garbage");
        var e = Assert.Throws<MeshException>(() => IdentityStore.LoadOrCreate(_home))!;
        Assert.That(e.Message, Does.Contain("does not hold a Curve secret key"));
    }

    [Test]
    public void Each_run_gets_a_larger_epoch()
    {
        Directory.CreateDirectory(_home);
        var first = EpochClock.Next(_home);
        var second = EpochClock.Next(_home);
        Assert.That(second, Is.GreaterThan(first));
    }
}
