using Mesh.Peer.Configuration;

namespace Mesh.UnitTests.Configuration;

[Category("Unit")]
public sealed class MeshOptionsTests
{
    [Test]
    public void Endpoints_are_split_on_commas()
    {
        var endpoints = MeshOptions.ParseEndpoints("http://127.0.0.1:2379, http://127.0.0.1:22379");
        Assert.That(endpoints, Is.EqualTo(new[] { "http://127.0.0.1:2379", "http://127.0.0.1:22379" }));
    }

    [TestCase("127.0.0.1:2379")]
    [TestCase("ftp://127.0.0.1:2379")]
    [TestCase("http://")]
    [TestCase(",")]
    public void Bad_endpoints_are_rejected_naming_the_value(string value)
    {
        var e = Assert.Throws<MeshException>(() => MeshOptions.ParseEndpoints(value))!;
        Assert.That(e.Message, Does.StartWith("--etcd"));
    }

    [Test]
    public void Defaults_are_loopback_and_a_free_port()
    {
        var options = MeshOptions.From("http://127.0.0.1:2379", "/tmp/x", "amy", null, null, null);
        Assert.That(options.Bind, Is.EqualTo("tcp://127.0.0.1:*"));
        Assert.That(options.LeaseTtl, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(options.Advertise, Is.Null);
    }

    [Test]
    public void Binding_every_interface_requires_an_advertised_endpoint()
    {
        Assert.Throws<MeshException>(() => MeshOptions.From(null, "/tmp/x", "amy", "tcp://0.0.0.0:7000", null, null));
        var options = MeshOptions.From(null, "/tmp/x", "amy", "tcp://0.0.0.0:7000", "tcp://192.0.2.10:7000", null);
        Assert.That(options.Advertise, Is.EqualTo("tcp://192.0.2.10:7000"));
    }

    [TestCase(1)]
    [TestCase(301)]
    public void Lease_ttl_out_of_range_is_rejected(int ttl) =>
        Assert.Throws<MeshException>(() => MeshOptions.From(null, "/tmp/x", "amy", null, null, ttl));

    [TestCase("udp://127.0.0.1:5")]
    [TestCase("tcp://127.0.0.1")]
    [TestCase("tcp://127.0.0.1:99999")]
    public void Bad_bind_endpoints_are_rejected(string bind) =>
        Assert.Throws<MeshException>(() => MeshOptions.From(null, "/tmp/x", "amy", bind, null, null));
}
