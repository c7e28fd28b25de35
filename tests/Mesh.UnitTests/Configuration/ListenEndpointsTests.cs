using Mesh.Peer.Configuration;

namespace Mesh.UnitTests.Configuration;

[Category("Unit")]
public sealed class ListenEndpointsTests
{
    [TestCase("tcp://127.0.0.1:*", null)]
    [TestCase("tcp://127.0.0.1:7000", "tcp://127.0.0.1:17000")]
    [TestCase("tcp://localhost:7000", null)]
    [TestCase("tcp://192.0.2.10:7000", null)]
    [TestCase("tcp://192.0.2.10:7000", "tcp://192.0.2.10:7000")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://192.0.2.10:7000")]
    [TestCase("tcp://*:7000", "tcp://peer-3.example.org:7000")]
    [TestCase("tcp://[::]:7000", "tcp://[2001:db8::5]:7000")]
    [TestCase("tcp://[::1]:7000", "tcp://[::1]:7000")]
    [TestCase("tcp://127.0.0.1:7000", "tcp://198.51.100.7:443")]
    public void Endpoints_others_can_reach_are_accepted(string bind, string? advertise) =>
        Assert.That(ListenEndpoints.Check(bind, advertise), Is.EqualTo(bind));

    [TestCase("tcp://0.0.0.0:7000", null, "listens on every interface")]
    [TestCase("tcp://*:7000", null, "listens on every interface")]
    [TestCase("tcp://[::]:7000", null, "listens on every interface")]
    [TestCase("tcp://eth0:7000", null, "does not name an address")]
    [TestCase("tcp://peer.example.org:7000", null, "does not name an address")]
    [TestCase("tcp://10.1:7000", null, "does not name an address")]
    [TestCase("tcp://::1:7000", null, "does not name an address")]
    [TestCase("tcp://224.0.0.1:7000", null, "multicast")]
    [TestCase("tcp://127.0.0.1:0", null, "no valid port")]
    [TestCase("tcp://127.0.0.1:70000", null, "no valid port")]
    [TestCase("tcp://127.0.0.1", null, "not an endpoint")]
    [TestCase("udp://127.0.0.1:7000", null, "not an endpoint")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://0.0.0.0:7000", "not an address other peers can connect to")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://[::]:7000", "not an address other peers can connect to")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://239.1.2.3:7000", "multicast or broadcast")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://255.255.255.255:7000", "multicast or broadcast")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://127.0.0.1:7000", "is loopback but")]
    [TestCase("tcp://192.0.2.10:7000", "tcp://127.0.0.1:7000", "is loopback but")]
    [TestCase("tcp://0.0.0.0:*", "tcp://192.0.2.10:7000", "cannot name in advance")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://192.0.2.10:*", "not an endpoint")]
    [TestCase("tcp://0.0.0.0:7000", "tcp://bad_name:7000", "not an endpoint")]
    [TestCase("tcp://0.0.0.0:7000", "192.0.2.10:7000", "not an endpoint")]
    public void Endpoints_that_cannot_work_are_refused_with_the_reason(string bind, string? advertise, string reason)
    {
        var e = Assert.Throws<MeshException>(() => ListenEndpoints.Check(bind, advertise))!;
        Assert.That(e.Message, Does.Contain(reason));
        Assert.That(e.Message, Does.StartWith(advertise is not null && !e.Message.StartsWith("--bind", StringComparison.Ordinal) ? "--advertise" : "--bind"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void A_hostile_endpoint_is_named_printably_and_briefly()
    {
        var e = Assert.Throws<MeshException>(() => ListenEndpoints.Check("tcp://\u001b[31m" + new string('a', 5000) + ":7000", null))!;
        Assert.That(e.Message, Does.Not.Contain("\u001b"));
        Assert.That(e.Message.Length, Is.LessThan(600));
    }
}
