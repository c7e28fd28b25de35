using System.Net;
using System.Text;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Network;

/// <summary>A peer that listens on every interface of its host, as it would on a real network: nothing but its PUB
/// socket is open, and that socket speaks only CurveZMQ to whoever connects from another host.</summary>
public sealed class ListenerTests : NetworkFixture
{
    [Test]
    public async Task A_peer_bound_to_every_interface_opens_only_its_curve_listener()
    {
        var group = $"listen-{Guid.NewGuid():N}"[..20];
        var peers = await StartPeersAsync(group, 2);
        var host = HostOf(peers[1]); // bound to tcp://0.0.0.0:7000
        var listening = Listeners(host, "-Hltn").Concat(Listeners(host, "-Hlun")).Where(l => !l.EndsWith(":" + PubRelayPort, StringComparison.Ordinal)).ToList();
        Assert.That(listening, Is.EqualTo(new[] { $"0.0.0.0:{PubPort}" }), "the PUB socket and nothing else (the relay's port is the test's)");

        // From another host, straight to the listener: its greeting names CURVE, and a client without Curve is dropped.
        using var socket = HostOf(peers[0]).NewTcpSocket();
        await socket.ConnectAsync(new IPEndPoint(host.Address, PubPort));
        var greeting = new byte[64];
        greeting[0] = 0xFF;
        greeting[9] = 0x7F;
        greeting[10] = 3;
        Encoding.ASCII.GetBytes("NULL").CopyTo(greeting, 12);
        await socket.SendAsync(greeting);
        var theirs = new byte[64];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (read < 64)
        {
            var n = await socket.ReceiveAsync(theirs.AsMemory(read), timeout.Token);
            Assert.That(n, Is.GreaterThan(0), "the listener closed before its greeting");
            read += n;
        }

        Assert.That(theirs[0], Is.EqualTo(0xFF));
        Assert.That(theirs[9], Is.EqualTo(0x7F), "a ZMTP signature");
        Assert.That(Encoding.ASCII.GetString(theirs, 12, 20).TrimEnd('\0'), Is.EqualTo("CURVE"));
        var rest = new byte[256];
        int more;
        do
        {
            more = await socket.ReceiveAsync(rest, timeout.Token);
        }
        while (more > 0);
        Assert.That(more, Is.Zero, "a NULL-mechanism client is disconnected");
    }

    /// <summary>The local addresses of the sockets listening in <paramref name="host"/> (<c>ss</c>).</summary>
    private static IEnumerable<string> Listeners(NetHost host, string flags)
    {
        var (code, output) = host.Try("ss", [flags]);
        Assert.That(code, Is.Zero, output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(cols => cols.Length >= 4)
            .Select(cols => cols[3]);
    }
}
