using System.Net;
using Mesh.Peer.Node;

namespace Mesh.UnitTests.Node;

[Category("Unit")]
public sealed class PeerEndpointTests
{
    [TestCase("tcp://127.0.0.1:5555", "127.0.0.1")]
    [TestCase("tcp://[::1]:5555", "::1")]
    [TestCase("tcp://peer-3.example.internal:40000", null)]
    public void Valid_endpoints_parse(string endpoint, string? address)
    {
        var parsed = PeerEndpoint.TryParse(endpoint, out var error);
        Assert.That(parsed, Is.Not.Null, error);
        Assert.That(parsed!.Address?.ToString(), Is.EqualTo(address));
    }

    [TestCase("udp://127.0.0.1:5555")]
    [TestCase("tcp://127.0.0.1:0")]
    [TestCase("tcp://127.0.0.1:70000")]
    [TestCase("tcp://127.0.0.1:*")]
    [TestCase("tcp://127.0.0.1")]
    [TestCase("tcp://under_score.example:5555")]
    [TestCase("tcp://-lead.example:5555")]
    [TestCase("tcp://a b:5555")]
    [TestCase("tcp://[not-v6]:5555")]
    [TestCase("tcp://1.2.3:5555")]
    [TestCase("ipc:///tmp/x")]
    [TestCase("")]
    public void Anything_else_is_refused_with_a_reason(string endpoint)
    {
        Assert.That(PeerEndpoint.TryParse(endpoint, out var error), Is.Null);
        Assert.That(error, Is.Not.Empty);
    }

    [Test]
    public async Task Names_resolve_in_the_background_and_failures_are_kept_for_a_while()
    {
        var lookups = 0;
        var resolved = new SemaphoreSlim(0);
        var resolver = new EndpointResolver(() => resolved.Release(), (host, _) =>
        {
            Interlocked.Increment(ref lookups);
            return host == "good.example"
                ? Task.FromResult(new[] { IPAddress.Parse("10.1.2.3") })
                : Task.FromException<IPAddress[]>(new System.Net.Sockets.SocketException(11001));
        });
        var good = PeerEndpoint.TryParse("tcp://good.example:5000", out _)!;
        var bad = PeerEndpoint.TryParse("tcp://nonexistent.invalid:5555", out _)!;

        Assert.That(resolver.AddressOf(good, out var why), Is.Null);
        Assert.That(why, Is.EqualTo("resolving"));
        Assert.That(await resolved.WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(good.ConnectTo(resolver.AddressOf(good, out _)!), Is.EqualTo("tcp://10.1.2.3:5000"));

        resolver.AddressOf(bad, out _);
        Assert.That(await resolved.WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(resolver.AddressOf(bad, out why), Is.Null);
        Assert.That(why, Does.Contain("does not resolve"));
        resolver.AddressOf(bad, out _);
        Assert.That(lookups, Is.EqualTo(2), "a failed name is not looked up again at every change");
    }

    [Test]
    public async Task An_address_due_for_a_refresh_is_still_used_while_it_is_looked_up_again()
    {
        var answers = new Queue<TaskCompletionSource<IPAddress[]>>();
        var resolved = new SemaphoreSlim(0);
        var resolver = new EndpointResolver(() => resolved.Release(), (_, _) =>
        {
            var answer = new TaskCompletionSource<IPAddress[]>();
            lock (answers)
            {
                answers.Enqueue(answer);
            }

            return answer.Task;
        }, keepFor: TimeSpan.Zero);
        var endpoint = PeerEndpoint.TryParse("tcp://peer.example:5000", out _)!;
        resolver.AddressOf(endpoint, out _);
        lock (answers)
        {
            answers.Dequeue().SetResult([IPAddress.Parse("10.0.0.1")]);
        }

        Assert.That(await resolved.WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        // Stale at once (keepFor 0): the next call starts a refresh, and the link keeps its address meanwhile.
        Assert.That(resolver.AddressOf(endpoint, out var why)?.ToString(), Is.EqualTo("10.0.0.1"));
        Assert.That(why, Is.Null);
        Assert.That(resolver.AddressOf(endpoint, out _)?.ToString(), Is.EqualTo("10.0.0.1"), "and while the refresh is under way");
    }
}
