using System.Diagnostics;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Cli;

/// <summary>Bad input gets one line naming what was wrong and a non-zero exit; a running peer survives it.</summary>
public sealed class BadInputTests : EtcdFixture
{
    private static readonly object[] Cases =
    [
        new object[] { new[] { "frobnicate" }, "frobnicate" },
        new object[] { new[] { "join", "g", "--name", "a", "--frob" }, "--frob" },
        new object[] { new[] { "join", "ops", "--bogus", "--name", "a" }, "unknown option '--bogus' for 'join'" },
        new object[] { new[] { "history", "ops", "-x" }, "'-x'" },
        new object[] { new[] { "join", "", "--name", "a" }, "invalid group name" },
        new object[] { new[] { "join", "bad/group", "--name", "a" }, "invalid group name 'bad/group'" },
        new object[] { new[] { "join", new string('g', 65), "--name", "a" }, "invalid group name" },
        new object[] { new[] { "join", "g", "--name", "bad name" }, "invalid name 'bad name'" },
        new object[] { new[] { "join", "g" }, "--name is required" },
        new object[] { new[] { "join", "g", "--name", "a", "--etcd", "ftp://x" }, "--etcd" },
        new object[] { new[] { "join", "g", "--name", "a", "--bind", "tcp://0.0.0.0:7000" }, "--advertise" },
        new object[] { new[] { "join", "g", "--name", "a", "--bind", "tcp://0.0.0.0:7000", "--advertise", "tcp://127.0.0.1:7000" }, "is loopback but --bind tcp://0.0.0.0:7000 is not" },
        new object[] { new[] { "join", "g", "--name", "a", "--bind", "tcp://eth0:7000" }, "does not name an address of this machine" },
        new object[] { new[] { "join", "g", "--name", "a", "--bind", "tcp://0.0.0.0:7000", "--advertise", "tcp://0.0.0.0:7000" }, "not an address other peers can connect to" },
        new object[] { new[] { "history", "no such group!" }, "invalid group name" },
        new object[] { Array.Empty<string>(), "no command given" },
        new object[] { new[] { "join", "g", "--name", "a", "--influx", "ftp://x" }, "--influx: 'ftp://x'" },
        new object[] { new[] { "join", "g", "--name", "a", "--influx", "http://u:secret@127.0.0.1:8086" }, "no credentials in the URL" },
        new object[] { new[] { "join", "g", "--name", "a", "--influx", "http://127.0.0.1:8086", "--influx-interval", "0" }, "--influx-interval 0" },
        new object[] { new[] { "join", "g", "--name", "a", "--influx", "http://127.0.0.1:8086", "--influx-db", "no db" }, "--influx-db 'no db'" },
        new object[] { new[] { "monitor", "--http", "nonsense" }, "--http 'nonsense'" },
        new object[] { new[] { "monitor", "--http", "example:80" }, "IP address or localhost" },
    ];

    [TestCaseSource(nameof(Cases))]
    public async Task Bad_arguments_get_one_line_and_a_non_zero_exit(string[] args, string mentions)
    {
        var (code, stdout, stderr) = await MeshCli.RunAsync(args);
        Assert.That(code, Is.Not.EqualTo(0));
        AssertOneLine(stderr, mentions);
        Assert.That(stdout, Is.Empty);
    }

    [TestCase("groups")]
    [TestCase("join", "g", "--name", "a", "--headless")]
    [TestCase("members", "g")]
    public async Task An_etcd_password_for_an_http_endpoint_is_refused_in_one_line_unless_sent_knowingly(params string[] args)
    {
        var passwordFile = Path.Combine(Path.GetTempPath(), $"mesh-pw-{Guid.NewGuid():N}");
        var home = Path.Combine(Path.GetTempPath(), $"mesh-pw-home-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(passwordFile, "hunter2\n");
        try
        {
            var dead = $"http://127.0.0.1:{FreePort.Next()}";
            string[] access = ["--etcd", dead, "--etcd-user", "mesh", "--etcd-password-file", passwordFile, "--home", home];
            var (code, stdout, stderr) = await MeshCli.RunAsync([.. args, .. access]);
            Assert.That(code, Is.EqualTo(2));
            AssertOneLine(stderr, $"the etcd password would go in clear text to {dead}");
            Assert.That(stderr, Does.Contain("--etcd-insecure-password").And.Not.Contain("hunter2"));
            Assert.That(stdout, Is.Empty);

            // Sent knowingly: one warning line, then on as usual (here: etcd is not there, named in one line).
            (code, _, stderr) = await MeshCli.RunAsync([.. args, .. access, "--etcd-insecure-password"]);
            var lines = stderr.Trim().Split('\n');
            Assert.That(code, Is.EqualTo(1), stderr);
            Assert.That(lines, Has.Length.EqualTo(2), stderr);
            Assert.That(lines[0], Does.StartWith("mesh: warning: the etcd password goes in clear text to " + dead));
            Assert.That(lines[1], Does.Contain("etcd unreachable at " + dead));
            Assert.That(stderr, Does.Not.Contain("hunter2").And.Not.Contain("   at "));
        }
        finally
        {
            File.Delete(passwordFile);
            if (Directory.Exists(home))
            {
                Directory.Delete(home, recursive: true);
            }
        }
    }

    [TestCase("join", "g", "--name", "a", "--headless")]
    [TestCase("history", "g")]
    [TestCase("groups")]
    [TestCase("members", "g")]
    public async Task Unreachable_etcd_is_named_in_the_same_words_and_at_once_by_every_command(params string[] args)
    {
        var dead = $"http://127.0.0.1:{FreePort.Next()}";
        var clock = Stopwatch.StartNew();
        var (code, _, stderr) = await MeshCli.RunAsync([.. args, "--etcd", dead, "--home", Path.Combine(Path.GetTempPath(), $"mesh-dead-{Guid.NewGuid():N}")]);
        Assert.That(code, Is.Not.EqualTo(0));
        TestContext.Out.WriteLine($"exit {code} after {clock.Elapsed.TotalSeconds:F1} s: {stderr}");
        // The process's own start included (a loaded machine): the gRPC client's retries took 1 to 5 s before.
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        AssertOneLine(stderr, $"etcd unreachable at {dead} (connection refused: nothing listens at that address");
    }

    [Test]
    public async Task A_status_page_port_in_use_is_named_in_one_line()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (code, _, stderr) = await MeshCli.RunAsync("monitor", "--etcd", Etcd.Url, "--http", $"127.0.0.1:{port}");
        Assert.That(code, Is.EqualTo(2));
        AssertOneLine(stderr, $"--http 127.0.0.1:{port}");
    }

    [Test]
    public async Task A_bind_address_in_use_is_named_in_one_line()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (code, _, stderr) = await MeshCli.RunAsync("join", "g", "--headless", "--name", "a", "--etcd", Etcd.Url,
            "--bind", $"tcp://127.0.0.1:{port}", "--home", Path.Combine(Path.GetTempPath(), $"mesh-bind-{Guid.NewGuid():N}"));
        Assert.That(code, Is.EqualTo(2));
        AssertOneLine(stderr, $"tcp://127.0.0.1:{port}");
    }

    [Test]
    public async Task A_running_peer_reports_bad_lines_as_error_events_and_keeps_chatting()
    {
        var group = NewGroup("bad");
        var peer = StartPeer("sturdy", group);
        await peer.WaitReadyAsync(group);

        await peer.SendAsync(new string('x', 16 * 1024 + 1));
        await peer.SendAsync("/frobnicate");
        await peer.SendAsync("/switch nowhere");
        await peer.SendAsync("/join bad/name");
        await peer.WaitForAsync(p => p.Of("error").Count >= 4, Long, "four errors");
        var errors = peer.Of("error").Select(e => e.Str("message")).ToList();
        Assert.That(errors[0], Does.Contain("16384"));
        Assert.That(errors[1], Does.Contain("unknown command '/frobnicate'"));
        Assert.That(errors[2], Does.Contain("not in group 'nowhere'"));
        Assert.That(errors[3], Does.Contain("invalid group name"));

        // A text of exactly the limit still goes through, and so do ordinary ones.
        await peer.SendAsync(new string('y', 16 * 1024));
        await peer.SendAsync("still here");
        await peer.SendAsync("//slash kept");
        await peer.WaitForAsync(p => p.Messages(group).Count == 3, Long, "three messages");
        Assert.That(peer.Messages(group).Select(m => m.Str("text")!.Length), Is.EqualTo(new[] { 16 * 1024, 10, 11 }));
        Assert.That(peer.Messages(group)[2].Str("text"), Is.EqualTo("/slash kept"));
        Assert.That(peer.Exited, Is.False);
        Assert.That(await peer.CloseAsync(), Is.EqualTo(0));
        Assert.That((await HistoryAsync(group, peer.Home)).Count, Is.EqualTo(3), "rejected lines never reach history");
    }

    [Test]
    public async Task Join_private_on_an_existing_group_that_is_open_or_not_ours_is_refused_in_one_line()
    {
        var group = NewGroup("open");
        var creator = StartPeer("creator", group);
        await creator.WaitReadyAsync(group);
        var (code, _, stderr) = await MeshCli.RunAsync("join", group, "--private", "--headless", "--name", "late", "--etcd", Etcd.Url,
            "--home", Path.Combine(Path.GetTempPath(), $"mesh-home-late-{Guid.NewGuid():N}"));
        Assert.That(code, Is.Not.EqualTo(0));
        AssertOneLine(stderr, "is open");

        var secret = NewGroup("closed");
        var owner = StartPeer("owner", [secret], null, "--private");
        await owner.WaitReadyAsync(secret);
        (code, _, stderr) = await MeshCli.RunAsync("join", secret, "--private", "--headless", "--name", "late", "--etcd", Etcd.Url,
            "--home", Path.Combine(Path.GetTempPath(), $"mesh-home-late-{Guid.NewGuid():N}"));
        Assert.That(code, Is.Not.EqualTo(0));
        AssertOneLine(stderr, "not created by this home");
    }

    [Test]
    public async Task A_group_of_the_format_before_the_signed_log_is_refused_in_one_line_and_bad_invites_are_named()
    {
        var group = NewGroup("old");
        Assert.That(Etcd.Etcdctl("put", $"/mesh/groups/{group}", "{\"created_at\":1,\"created_by\":\"amy\",\"policy\":\"open\",\"key_check\":\"x\"}").ExitCode, Is.EqualTo(0));
        var home = Path.Combine(Path.GetTempPath(), $"mesh-home-old-{Guid.NewGuid():N}");
        var (code, _, stderr) = await MeshCli.RunAsync("join", group, "--headless", "--name", "amy", "--etcd", Etcd.Url, "--home", home);
        Assert.That(code, Is.Not.EqualTo(0));
        AssertOneLine(stderr, "older Mesh");

        var file = Path.Combine(Path.GetTempPath(), $"mesh-invite-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, "mesh2.not-a-code");
        (code, _, stderr) = await MeshCli.RunAsync("join", group, "--headless", "--name", "amy", "--etcd", Etcd.Url, "--home", home, "--invite-file", file);
        File.Delete(file);
        Assert.That(code, Is.EqualTo(2));
        AssertOneLine(stderr, "not an invite code");
        (code, _, stderr) = await MeshCli.RunAsync("invite", group, "--etcd", Etcd.Url, "--home", home, "--ttl", "40d");
        Assert.That(code, Is.EqualTo(2));
        AssertOneLine(stderr, "--ttl '40d'");
        (code, _, stderr) = await MeshCli.RunAsync("invite", group, "--etcd", Etcd.Url, "--home", home);
        Assert.That(code, Is.Not.EqualTo(0));
        AssertOneLine(stderr, "only its members can invite");
    }

    [Test]
    public async Task Members_of_a_group_that_does_not_exist_is_an_error_and_of_one_that_does_lists_them()
    {
        var (code, stdout, stderr) = await MeshCli.RunAsync("members", "nosuchgroup", "--etcd", Etcd.Url);
        Assert.That(code, Is.EqualTo(1));
        AssertOneLine(stderr, "no group 'nosuchgroup'");
        Assert.That(stdout, Is.Empty);

        var group = NewGroup("listed");
        var amy = StartPeer("amy", group);
        await amy.WaitReadyAsync(group, Long);
        (code, stdout, stderr) = await MeshCli.RunAsync("members", group, "--etcd", Etcd.Url);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.StartWith("amy\t"));
    }
}
