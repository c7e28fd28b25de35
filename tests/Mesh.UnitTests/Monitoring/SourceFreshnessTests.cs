using Mesh.Monitoring.Watcher;
using Mesh.UnitTests.Groups;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class SourceFreshnessTests
{
    private readonly ManualTime _time = new();

    private SourceFreshness New() => new("etcd", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), _time);

    [Test]
    public void Before_any_answer_it_is_connecting_and_after_one_live_with_its_age()
    {
        var source = New();
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Connecting));
        source.Answered();
        _time.Now += TimeSpan.FromSeconds(2);
        var view = source.View();
        Assert.That(view.State, Is.EqualTo(SourceFreshness.Live));
        Assert.That(view.AgeMs, Is.EqualTo(2000));
        Assert.That(view.Cause, Is.Null);
    }

    [Test]
    public void A_failure_is_not_a_loss_until_it_lasts_and_then_it_is_told_once_with_the_cause()
    {
        var source = New();
        var told = new List<string>();
        source.Changed += told.Add;
        source.Answered();
        source.Failed("connection refused");
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Live), "one failure among answers raises nothing");
        _time.Now += TimeSpan.FromSeconds(6);
        source.Failed("connection refused");
        source.Failed("connection refused");
        var view = source.View();
        Assert.That(view.State, Is.EqualTo(SourceFreshness.Lost));
        Assert.That(view.Cause, Is.EqualTo("connection refused"));
        Assert.That(view.AgeMs, Is.EqualTo(6000), "what is shown is as old as the last answer");
        Assert.That(told, Is.EqualTo(new[] { "etcd lost: connection refused" }));

        source.Answered();
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Live));
        Assert.That(told, Is.EqualTo(new[] { "etcd lost: connection refused", "etcd answers again" }));
    }

    [Test]
    public void A_loss_is_noticed_when_the_page_reads_it_even_with_no_further_failure()
    {
        var source = New();
        var told = new List<string>();
        source.Changed += told.Add;
        source.Failed("host name not found");
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Connecting));
        _time.Now += TimeSpan.FromSeconds(5);
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Lost), "never answered and failing for 5 s");
        Assert.That(source.View().AgeMs, Is.Null);
        Assert.That(told, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_source_not_configured_is_off()
    {
        var source = new SourceFreshness("InfluxDB", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), _time, configured: false);
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Off));
    }

    [Test]
    public void A_source_that_stops_answering_without_a_failure_being_told_is_lost_after_its_silence()
    {
        var source = New();
        var told = new List<string>();
        source.Changed += told.Add;
        source.Answered();
        _time.Now += TimeSpan.FromSeconds(9);
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Live));
        _time.Now += TimeSpan.FromSeconds(1);
        var view = source.View();
        Assert.That(view.State, Is.EqualTo(SourceFreshness.Lost), "nothing told, but nothing answered for 10 s");
        Assert.That(view.Cause, Is.EqualTo("no answer for 10 s"));
        Assert.That(view.FailingSince, Is.EqualTo(view.AnsweredAt), "silent since its last answer");
        Assert.That(told, Is.EqualTo(new[] { "etcd lost: no answer for 10 s" }));
        source.Answered();
        Assert.That(source.View().State, Is.EqualTo(SourceFreshness.Live));
    }
}
