using System.Net;
using Mesh.Monitoring.StatusPage;
using Mesh.Peer.Configuration;
using Mesh.Peer.Cli;

namespace Mesh.UnitTests.Monitoring;

/// <summary>The status page answers only to loopback Host names and those the operator gives: a web site whose name
/// was made to resolve to 127.0.0.1 (DNS rebinding) is refused.</summary>
[Category("Unit")]
public sealed class AllowedHostsTests
{
    [TestCase("localhost")]
    [TestCase("localhost:8090")]
    [TestCase("LOCALHOST:8090")]
    [TestCase("localhost.")]
    [TestCase("127.0.0.1")]
    [TestCase("127.0.0.1:8090")]
    [TestCase("127.12.34.56:1")]
    [TestCase("[::1]")]
    [TestCase("[::1]:8090")]
    [TestCase("[0:0:0:0:0:0:0:1]:8090")]
    public void Allows_Should_answer_loopback_names_with_or_without_a_port(string host) =>
        Assert.That(AllowedHosts.LoopbackOnly.Allows(host), Is.True);

    [TestCase(null)]
    [TestCase("")]
    [TestCase(" ")]
    [TestCase("attacker.example")]
    [TestCase("attacker.example:8090")]
    [TestCase("localhost.attacker.example")]
    [TestCase("127.0.0.1.nip.io")]
    [TestCase("foo.localhost")]
    [TestCase("10.0.0.5:8090")]
    [TestCase("128.0.0.1")]
    [TestCase("0.0.0.0")]
    [TestCase("[::2]:8090")]
    [TestCase("::1")]
    [TestCase("[::1")]
    [TestCase("[::1]8090")]
    [TestCase("localhost:")]
    [TestCase("localhost:80:80")]
    [TestCase("localhost:http")]
    [TestCase("localhost:123456")]
    [TestCase("local host")]
    [TestCase("localhost/x")]
    [TestCase("user@localhost")]
    public void Allows_Should_refuse_any_other_name_and_malformed_headers(string? host) =>
        Assert.That(AllowedHosts.LoopbackOnly.Allows(host), Is.False);

    [Test]
    public void Names_the_operator_adds_are_answered_as_well_with_or_without_a_port()
    {
        var hosts = AllowedHosts.For(IPAddress.Loopback, ["Mesh-Status.Example.org", "10.0.0.7", "[fd00::5]"]);
        Assert.That(hosts.Allows("mesh-status.example.org:8090"), Is.True);
        Assert.That(hosts.Allows("MESH-STATUS.example.org"), Is.True);
        Assert.That(hosts.Allows("10.0.0.7"), Is.True);
        Assert.That(hosts.Allows("[fd00::5]:8090"), Is.True);
        Assert.That(hosts.Allows("localhost"), Is.True);
        Assert.That(hosts.Allows("status.example.org"), Is.False);
        Assert.That(hosts.Added, Is.EquivalentTo(new[] { "mesh-status.example.org", "10.0.0.7", "fd00::5" }));
    }

    [Test]
    public void A_specific_non_loopback_listening_address_is_answered_and_a_wildcard_one_adds_nothing()
    {
        Assert.That(AllowedHosts.For(IPAddress.Parse("10.0.0.5"), []).Allows("10.0.0.5:8090"), Is.True);
        Assert.That(AllowedHosts.For(IPAddress.Any, []).Added, Is.Empty);
        Assert.That(AllowedHosts.For(IPAddress.IPv6Any, []).Added, Is.Empty);
        Assert.That(AllowedHosts.For(IPAddress.Any, []).Allows("0.0.0.0:8090"), Is.False);
    }

    [Test]
    public void ParseAllowedHosts_Should_refuse_what_is_not_a_host_name_in_one_line()
    {
        var endpoint = MonitorCommand.ParseHttp("127.0.0.1:8090");
        foreach (var bad in new[] { "http://x.example", "x.example:8090", "", "a b", "*.example.org" })
        {
            var error = Assert.Throws<MeshException>(() => MonitorCommand.ParseAllowedHosts(endpoint, [bad]))!;
            Assert.That(error.Message, Does.StartWith("--allow-host '").And.Not.Contain("\n"), bad);
        }

        Assert.That(MonitorCommand.ParseAllowedHosts(endpoint, ["status.example.org"]).Allows("status.example.org:8090"), Is.True);
    }
}
