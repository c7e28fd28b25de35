using System.Text.Json;
using Mesh.Testing;
using NetMQ;
using NetMQ.Sockets;

namespace Mesh.IntegrationTests.Security;

/// <summary>Links are Curve-authenticated: a subscriber must know the publisher's real public key.</summary>
public sealed class CurveTests : EtcdFixture
{
    [Test]
    public async Task A_subscriber_with_the_wrong_server_key_receives_nothing()
    {
        var group = NewGroup("curve");
        var home = Path.Combine(Path.GetTempPath(), $"mesh-home-curve-{Guid.NewGuid():N}");
        var peer = StartPeer("pub", [group], home);
        await peer.WaitReadyAsync(group);
        var (code, stdout, _) = await MeshCli.RunAsync("members", group, "--json", "--etcd", Etcd.Url);
        Assert.That(code, Is.EqualTo(0));
        var endpoint = JsonDocument.Parse(stdout.Split('\n')[0]).RootElement.Str("endpoint")!;
        var realKey = NetMQCertificate.FromPublicKey((await File.ReadAllTextAsync(Path.Combine(home, "identity.public"))).Trim()).PublicKey;

        using var right = Subscriber(endpoint, realKey);
        using var wrong = Subscriber(endpoint, new NetMQCertificate().PublicKey);
        var rightCount = 0;
        var wrongCount = 0;
        // Keep sending until the correctly keyed subscriber has received several messages: by then the wrong one
        // has had every chance to connect, and must still have nothing.
        for (var i = 0; i < 400 && rightCount < 5; i++)
        {
            await peer.SendAsync($"m{i}");
            rightCount += Drain(right);
            wrongCount += Drain(wrong);
        }

        wrongCount += Drain(wrong);
        Assert.That(rightCount, Is.GreaterThanOrEqualTo(5), "control: the right key receives");
        Assert.That(wrongCount, Is.Zero, "the wrong key receives nothing");
    }

    private static SubscriberSocket Subscriber(string endpoint, byte[] serverKey)
    {
        var socket = new SubscriberSocket();
        socket.Options.CurveCertificate = new NetMQCertificate();
        socket.Options.CurveServerKey = serverKey;
        socket.Options.Linger = TimeSpan.Zero;
        socket.SubscribeToAnyTopic();
        socket.Connect(endpoint);
        return socket;
    }

    private static int Drain(SubscriberSocket socket)
    {
        var count = 0;
        // Waits up to 50 ms for the first frame: this paces the sending loop above.
        var wait = TimeSpan.FromMilliseconds(50);
        var frames = new List<byte[]>();
        while (socket.TryReceiveMultipartBytes(wait, ref frames))
        {
            count++;
            wait = TimeSpan.Zero;
        }

        return count;
    }
}
