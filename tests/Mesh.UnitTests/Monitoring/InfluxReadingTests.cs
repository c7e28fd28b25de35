using Mesh.Monitoring.Influx;
using Mesh.Monitoring.Watcher;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class InfluxReadingTests
{
    [Test]
    public void Delivery_latency_is_weighted_over_a_peers_groups_and_joined_with_its_backlog()
    {
        var latency = InfluxQuery.Parse("""
            {"results":[{"statement_id":0,"series":[
              {"name":"mesh_delivery_latency","tags":{"group":"a","peer":"p1"},"columns":["time","p50","p99","count"],"values":[[1000,2,10,30]]},
              {"name":"mesh_delivery_latency","tags":{"group":"b","peer":"p1"},"columns":["time","p50","p99","count"],"values":[[3000,6,40,10]]},
              {"name":"mesh_delivery_latency","tags":{"group":"a","peer":"p2"},"columns":["time","p50","p99","count"],"values":[[2000,1,1,1]]}]}]}
            """);
        var backlog = InfluxQuery.Parse("""
            {"results":[{"statement_id":0,"series":[
              {"name":"mesh_outbox_backlog","tags":{"peer":"p1"},"columns":["time","value"],"values":[[4000,7]]},
              {"name":"mesh_outbox_backlog","tags":{"peer":"p3"},"columns":["time","value"],"values":[[5000,0]]}]}]}
            """);
        var figures = PeerFiguresReader.Combine(latency, backlog);
        Assert.That(figures["p1"], Is.EqualTo(new PeerFigures(3.0, 40, 7, 4000)), "p50 weighted by count, p99 the worst group, the latest time");
        Assert.That(figures["p2"], Is.EqualTo(new PeerFigures(1, 1, null, 2000)));
        Assert.That(figures["p3"], Is.EqualTo(new PeerFigures(null, null, 0, 5000)));
    }

    [Test]
    public void A_database_not_created_yet_answers_nothing_and_other_errors_are_one_line()
    {
        Assert.That(InfluxQuery.Parse("""{"results":[{"statement_id":0,"error":"database not found: mesh"}]}"""), Is.Empty);
        Assert.That(InfluxQuery.Parse("""{"results":[{"statement_id":0}]}"""), Is.Empty);
        var refused = Assert.Throws<InfluxUnavailableException>(() => InfluxQuery.Parse("""{"results":[{"statement_id":0,"error":"error parsing query:\nfound x"}]}"""));
        Assert.That(refused!.Message, Does.StartWith("InfluxDB refused the query").And.Not.Contain("\n"));
    }

    [Test]
    public void Events_go_to_InfluxDB_tagged_by_kind_and_rows_that_are_not_events_are_skipped()
    {
        var e = new MeshEventView(1_800_000_000_123, "bob (p2) failed: its lease expired", MeshEventKinds.LeaseExpired);
        var line = LineProtocol.Format(EventJournal.Point(e, [new("host", "h")]));
        Assert.That(line, Is.EqualTo("mesh_events,host=h,kind=lease_expired text=\"bob (p2) failed: its lease expired\" 1800000000123"));
        var answer = InfluxQuery.Parse("""
            {"results":[{"statement_id":0,"series":[{"name":"mesh_events","columns":["time","text","kind"],"values":[
              [1800000000123,"bob (p2) failed: its lease expired","lease_expired"],[1800000000000,null,"monitor"],[17,5,"monitor"],["x","y","z"]]}]}]}
            """);
        Assert.That(EventJournal.Parse(answer), Is.EqualTo(new[] { e }));
    }
}
