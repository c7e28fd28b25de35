using Mesh.Monitoring.Influx;
using Mesh.Peer.Configuration;

namespace Mesh.UnitTests.Configuration;

[Category("Unit")]
public sealed class InfluxAccessTests
{
    [Test]
    public void The_buffer_is_50000_points_unless_MESH_INFLUX_BUFFER_says_otherwise_within_its_bounds()
    {
        var before = Environment.GetEnvironmentVariable("MESH_INFLUX_BUFFER");
        try
        {
            Environment.SetEnvironmentVariable("MESH_INFLUX_BUFFER", null);
            Assert.That(InfluxAccess.From("http://127.0.0.1:8086", null, null)!.BufferCapacity, Is.EqualTo(InfluxSettings.DefaultBufferCapacity));

            Environment.SetEnvironmentVariable("MESH_INFLUX_BUFFER", "100");
            Assert.That(InfluxAccess.From("http://127.0.0.1:8086", null, null)!.BufferCapacity, Is.EqualTo(100));

            foreach (var wrong in new[] { "99", "5000001", "1e4", "-5", "lots" })
            {
                Environment.SetEnvironmentVariable("MESH_INFLUX_BUFFER", wrong);
                var e = Assert.Throws<MeshException>(() => InfluxAccess.From("http://127.0.0.1:8086", null, null), wrong)!;
                Assert.That(e.Message, Does.StartWith($"MESH_INFLUX_BUFFER '{wrong}'").And.Contain("from 100 to 5000000"));
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("MESH_INFLUX_BUFFER", before);
        }
    }
}
