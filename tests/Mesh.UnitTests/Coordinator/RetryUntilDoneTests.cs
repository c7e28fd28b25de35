using Mesh.Coordinator.Etcd;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class RetryUntilDoneTests
{
    [Test]
    public async Task A_repair_that_fails_is_tried_again_until_it_succeeds_and_the_failure_and_recovery_are_told_once()
    {
        var attempts = 0;
        var failing = new List<string>();
        var recovered = 0;
        var done = await RetryUntilDone.RunAsync(_ =>
            {
                if (++attempts < 4)
                {
                    throw new IOException($"etcd dropped again ({attempts})");
                }

                return Task.CompletedTask;
            },
            (reason, _) => failing.Add(reason), () => recovered++, CancellationToken.None,
            new Backoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5)));
        Assert.That(done, Is.True);
        Assert.That(attempts, Is.EqualTo(4));
        Assert.That(failing, Is.EqualTo(new[] { "etcd dropped again (1)" }));
        Assert.That(recovered, Is.EqualTo(1));
    }

    [Test]
    public async Task Cancelling_ends_the_retries()
    {
        using var stop = new CancellationTokenSource();
        var attempts = 0;
        var done = await RetryUntilDone.RunAsync(_ =>
            {
                if (++attempts == 3)
                {
                    stop.Cancel();
                }

                throw new IOException("down");
            },
            (_, _) => { }, null, stop.Token, new Backoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2)));
        Assert.That(done, Is.False);
        Assert.That(attempts, Is.EqualTo(3));
    }
}
