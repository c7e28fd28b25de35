using Mesh.Peer.Protocol;
using Mesh.Peer.Session;

namespace Mesh.UnitTests.Session;

[Category("Unit")]
public sealed class LinkRttTests
{
    private const string Amy = "aaaaaaaaaaaaaaaa0000000000000000";
    private const string Bo = "bbbbbbbbbbbbbbbb0000000000000000";

    [Test]
    public void A_beat_echoed_back_gives_the_round_trip_less_the_time_it_was_held()
    {
        var amy = new LinkRtt(Amy);
        var bo = new LinkRtt(Bo);
        // amy's beat leaves at 1,000 µs (her clock) and reaches bo at 50,000 µs (his clock).
        var (sent, _) = amy.NextBeat([Bo], 1_000);
        bo.OnBeat(Amy, new MemberBeat([]) { SentUs = sent }, 50_000);
        // bo's next beat, 400 ms later, echoes it; it reaches amy at 401,800 µs: 400 ms held, 0.8 ms on the wire.
        var (boSent, echoes) = bo.NextBeat([Amy], 450_000);
        Assert.That(echoes, Is.EqualTo(new[] { new MemberBeat.Echo(LinkRtt.Prefix(Amy), 1_000, 400_000) }));
        amy.OnBeat(Bo, new MemberBeat([]) { SentUs = boSent, Echoes = echoes }, 401_800);
        Assert.That(amy.Of(Bo, 401_800), Is.EqualTo(TimeSpan.FromMicroseconds(800)));
        Assert.That(amy.Of(Bo, 401_800 + (long)LinkRtt.Stale.TotalMicroseconds), Is.Null, "a reading goes stale");
    }

    [Test]
    public void A_round_trip_is_the_median_of_the_last_readings_and_an_echo_of_a_time_never_sent_is_ignored()
    {
        var amy = new LinkRtt(Amy);
        var prefix = LinkRtt.Prefix(Amy);
        var at = 0L;
        void Reading(long rttUs)
        {
            var (sent, _) = amy.NextBeat([], at);
            at += rttUs;
            amy.OnBeat(Bo, new MemberBeat([]) { Echoes = [new(prefix, sent, 0)] }, at);
            at += 1_000_000 - rttUs;
        }

        Reading(30_000);
        Assert.That(amy.Of(Bo, at)!.Value.TotalMicroseconds, Is.EqualTo(30_000), "the first reading");
        Reading(500);
        Reading(400);
        Assert.That(amy.Of(Bo, at)!.Value.TotalMicroseconds, Is.EqualTo(500), "a slow first beat gone at the third");
        Reading(600);
        Reading(90_000);
        Assert.That(amy.Of(Bo, at)!.Value.TotalMicroseconds, Is.EqualTo(600), "one slow beat does not show: the median of 30 ms, 0.5, 0.4, 0.6 and 90");

        var before = amy.Of(Bo, at);
        amy.OnBeat(Bo, new MemberBeat([]) { Echoes = [new(prefix, at - 1, 0)] }, at);
        amy.OnBeat(Bo, new MemberBeat([]) { Echoes = [new("cccccccccccccccc", at - 1_000_000, 0)] }, at);
        Assert.That(amy.Of(Bo, at), Is.EqualTo(before), "a made-up send time or another's echo changes nothing");
        amy.Keep(new HashSet<string>());
        Assert.That(amy.Of(Bo, at), Is.Null, "forgotten with the member");
    }
}
