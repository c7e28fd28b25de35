using Mesh.Coordinator.Membership;
using Mesh.Monitoring.Watcher;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class PeerVerdictTests
{
    private static string Name(string id) => "name-" + id;

    [Test]
    public void A_peer_whose_own_report_is_all_green_is_suspect_when_others_see_it_down()
    {
        var reports = new Dictionary<string, LinkStates>
        {
            ["frozen"] = new(["a", "b"], []),
            ["a"] = new(["b"], ["frozen"]),
            ["b"] = new(["a"], ["frozen"]),
        };
        var verdict = PeerVerdict.Judge("frozen", reports, Name);
        Assert.That(verdict.State, Is.EqualTo(PeerVerdict.Suspect));
        Assert.That(verdict.SeenDownBy, Is.EqualTo(new[] { "name-a", "name-b" }));
        Assert.That(verdict.Observers, Is.EqualTo(2));
        Assert.That(verdict.Cause, Is.EqualTo("2 of the 2 peers that follow it see its link down (name-a, name-b)"));
    }

    [Test]
    public void A_peer_everyone_sees_up_is_healthy_and_its_own_down_links_do_not_count_against_it()
    {
        var reports = new Dictionary<string, LinkStates>
        {
            ["p"] = new([], ["a"]),
            ["a"] = new(["p"], []),
        };
        var verdict = PeerVerdict.Judge("p", reports, Name);
        Assert.That(verdict.State, Is.EqualTo(PeerVerdict.Healthy));
        Assert.That(verdict.Cause, Is.Null);
        Assert.That(verdict.Observers, Is.EqualTo(1));
    }

    [Test]
    public void A_peer_nobody_follows_is_healthy_with_no_observers()
    {
        var verdict = PeerVerdict.Judge("alone", new Dictionary<string, LinkStates> { ["alone"] = new([], []) }, Name);
        Assert.That(verdict.State, Is.EqualTo(PeerVerdict.Healthy));
        Assert.That(verdict.Observers, Is.Zero);
    }

    [Test]
    public void A_long_list_of_reporters_is_cut_short_in_the_cause()
    {
        var reports = Enumerable.Range(0, 20).ToDictionary(i => $"r{i:D2}", _ => new LinkStates([], ["x"]));
        var verdict = PeerVerdict.Judge("x", reports, id => id);
        Assert.That(verdict.Cause, Does.EndWith("(r00, r01, r02, r03, r04 and 15 more)"));
        Assert.That(verdict.SeenDownBy, Has.Count.EqualTo(20));
    }
}
