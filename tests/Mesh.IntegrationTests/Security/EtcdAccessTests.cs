using Mesh.Testing;

namespace Mesh.IntegrationTests.Security;

/// <summary>etcd over TLS with users: peers chat with the right CA and password, and are refused otherwise.</summary>
[Category("Integration")]
public sealed class EtcdAccessTests
{
    private const string User = "mesh";
    private const string Password = "correct horse battery";
    private EtcdProcess _etcd = null!;
    private string _passwordFile = "";

    [OneTimeSetUp]
    public async Task Start()
    {
        _etcd = await EtcdProcess.StartSecureAsync(User, Password);
        _passwordFile = Path.Combine(Path.GetTempPath(), $"mesh-etcd-pw-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(_passwordFile, Password + "\n");
        File.SetUnixFileMode(_passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _etcd?.Dispose();
        File.Delete(_passwordFile);
    }

    private string[] Access(string? password = null, string? ca = null) =>
        ["--etcd-cacert", ca ?? _etcd.CaPath, "--etcd-user", User, "--etcd-password-file", password ?? _passwordFile];

    [Test]
    public async Task Peers_chat_through_an_etcd_with_TLS_and_auth()
    {
        var group = $"tls-{Guid.NewGuid():N}"[..20];
        await using var a = PeerProcess.Start(_etcd.Url, "tess", [group], null, Access());
        await using var b = PeerProcess.Start(_etcd.Url, "tim", [group], null, Access());
        await a.WaitReadyAsync(group, TimeSpan.FromSeconds(60));
        await b.WaitReadyAsync(group, TimeSpan.FromSeconds(60));
        await a.SendAsync("over tls");
        await b.WaitForAsync(p => p.Messages(group).Any(m => m.Str("text") == "over tls"), TimeSpan.FromSeconds(60), "message");

        var (code, stdout, stderr) = await MeshCli.RunAsync(["history", group, "--etcd", _etcd.Url, "--home", a.Home, .. Access()]);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("tess: over tls"));
        Assert.That(stderr, Does.Not.Contain(Password));
        Assert.That(File.ReadAllText(a.StderrPath), Does.Not.Contain(Password), "the password never reaches a log");
    }

    [Test]
    public async Task A_wrong_password_is_one_line_naming_the_user()
    {
        var wrong = Path.Combine(Path.GetTempPath(), $"mesh-etcd-pw-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(wrong, "not it");
        var (code, _, stderr) = await MeshCli.RunAsync(["groups", "--etcd", _etcd.Url, .. Access(password: wrong)]);
        File.Delete(wrong);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.Contain($"refused user '{User}'").And.Not.Contain("not it"));
    }

    [Test]
    public async Task Without_the_etcd_CA_the_TLS_handshake_is_refused_in_one_line()
    {
        var (code, _, stderr) = await MeshCli.RunAsync("groups", "--etcd", _etcd.Url, "--etcd-user", User, "--etcd-password-file", _passwordFile);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.StartWith("mesh: etcd unreachable at " + _etcd.Url));
    }

    [Test]
    public async Task Without_a_user_etcd_refuses_to_serve_mesh_keys()
    {
        var (code, _, stderr) = await MeshCli.RunAsync("groups", "--etcd", _etcd.Url, "--etcd-cacert", _etcd.CaPath);
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.Contain(_etcd.Url));
    }
}
