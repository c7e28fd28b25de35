using System.Diagnostics.Metrics;
using System.Net;
using Mesh.Monitoring;
using Mesh.Monitoring.Influx;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class MetricsCollectorTests
{
    private static Dictionary<string, object> Fields(LinePoint point) => point.Fields.ToDictionary(f => f.Key, f => f.Value);

    [Test]
    public void A_counter_gives_its_count_in_the_interval_its_total_and_a_rate_per_tag_set()
    {
        using var meter = new Meter("test.counter");
        var counter = meter.CreateCounter<long>("c.one");
        using var collector = new MetricsCollector([meter]);
        counter.Add(3, new KeyValuePair<string, object?>("group", "a"));
        counter.Add(2, new KeyValuePair<string, object?>("group", "a"));
        counter.Add(1, new KeyValuePair<string, object?>("group", "b"));

        var first = collector.Snapshot([new("host", "h")]);
        Assert.That(first, Has.Count.EqualTo(2));
        var a = first.Single(p => p.Tags.Contains(new("group", "a")));
        Assert.That(a.Measurement, Is.EqualTo("c_one"));
        Assert.That(a.Tags, Does.Contain(new KeyValuePair<string, string>("host", "h")));
        Assert.That(Fields(a)["count"], Is.EqualTo(5L));
        Assert.That(Fields(a)["total"], Is.EqualTo(5L));
        Assert.That((double)Fields(a)["rate"], Is.GreaterThan(0));

        counter.Add(4, new KeyValuePair<string, object?>("group", "a"));
        var second = collector.Snapshot([]);
        var again = second.Single(p => p.Tags.Contains(new("group", "a")));
        Assert.That(Fields(again)["count"], Is.EqualTo(4L));
        Assert.That(Fields(again)["total"], Is.EqualTo(9L));
        // A quiet series still reports, with a count of zero.
        Assert.That(Fields(second.Single(p => p.Tags.Contains(new("group", "b"))))["count"], Is.EqualTo(0L));
    }

    [Test]
    public void A_histogram_gives_percentiles_of_the_interval_and_nothing_for_an_empty_one()
    {
        using var meter = new Meter("test.histogram");
        var histogram = meter.CreateHistogram<double>("latency");
        using var collector = new MetricsCollector([meter]);
        for (var i = 1; i <= 100; i++)
        {
            histogram.Record(i);
        }

        var fields = Fields(collector.Snapshot([]).Single());
        Assert.That(fields["count"], Is.EqualTo(100L));
        Assert.That(fields["min"], Is.EqualTo(1.0));
        Assert.That(fields["max"], Is.EqualTo(100.0));
        Assert.That(fields["p50"], Is.EqualTo(50.0));
        Assert.That(fields["p90"], Is.EqualTo(90.0));
        Assert.That(fields["p99"], Is.EqualTo(99.0));
        Assert.That(fields["mean"], Is.EqualTo(50.5));
        Assert.That(collector.Snapshot([]), Is.Empty);
    }

    [Test]
    public void Percentiles_of_a_long_interval_come_from_a_uniform_sample()
    {
        using var meter = new Meter("test.reservoir");
        var histogram = meter.CreateHistogram<double>("latency");
        using var collector = new MetricsCollector([meter]);
        for (var i = 1; i <= 100_000; i++)
        {
            histogram.Record(i);
        }

        var fields = Fields(collector.Snapshot([]).Single());
        Assert.That(fields["count"], Is.EqualTo(100_000L));
        Assert.That((double)fields["p50"], Is.InRange(45_000, 55_000));
        Assert.That((double)fields["p99"], Is.InRange(97_000, 100_000));
    }

    [Test]
    public void Gauges_are_observed_at_each_snapshot_and_other_meters_are_ignored()
    {
        using var meter = new Meter("test.gauge");
        using var other = new Meter("test.other");
        var value = 7;
        meter.CreateObservableGauge("links", () => value);
        other.CreateCounter<long>("elsewhere").Add(1);
        using var collector = new MetricsCollector([meter]);

        Assert.That(Fields(collector.Snapshot([]).Single())["value"], Is.EqualTo(7.0));
        value = 3;
        Assert.That(Fields(collector.Snapshot([]).Single())["value"], Is.EqualTo(3.0));
    }

    [Test]
    public async Task While_InfluxDB_refuses_points_the_buffer_keeps_the_newest_and_counts_what_it_dropped()
    {
        using var meter = new Meter("test.buffer");
        var counter = meter.CreateCounter<long>("c");
        using var collector = new MetricsCollector([meter]);
        var handler = new Answering(HttpStatusCode.ServiceUnavailable);
        var settings = new InfluxSettings(new Uri("http://127.0.0.1:1/"), "db", TimeSpan.FromHours(1)) { BufferCapacity = 4 };
        await using var reporter = new InfluxReporter(settings, collector, [], new Meter("test.buffer.own"), NullLogger.Instance, handler);
        for (var i = 0; i < 6; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("n", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            await reporter.ReportAsync(CancellationToken.None);
        }

        // Snapshots of 1, 2, … 6 series: 21 points, 4 kept.
        Assert.That(reporter.Buffered, Is.EqualTo(4));
        Assert.That(reporter.Dropped, Is.EqualTo(17));
        Assert.That(reporter.Sent, Is.Zero);

        handler.Status = HttpStatusCode.NoContent;
        await reporter.ReportAsync(CancellationToken.None);
        Assert.That(reporter.Buffered, Is.Zero);
        Assert.That(reporter.Sent, Is.EqualTo(4));
        Assert.That(handler.Bodies[^1].Split('\n'), Has.Length.EqualTo(4));
    }

    [Test]
    public async Task A_missing_database_is_created_and_the_write_repeated()
    {
        using var meter = new Meter("test.create");
        meter.CreateCounter<long>("c").Add(1);
        using var collector = new MetricsCollector([meter]);
        var handler = new Answering(HttpStatusCode.NoContent) { MissingDatabase = true };
        var settings = new InfluxSettings(new Uri("http://127.0.0.1:1/"), "my \"db\"", TimeSpan.FromHours(1));
        await using var reporter = new InfluxReporter(settings, collector, [], new Meter("test.create.own"), NullLogger.Instance, handler);
        meter.CreateCounter<long>("d").Add(1);
        await reporter.ReportAsync(CancellationToken.None);

        Assert.That(handler.Queries, Is.EqualTo(new[] { "CREATE DATABASE \"my \\\"db\\\"\"" }));
        Assert.That(reporter.Sent, Is.EqualTo(1));
    }

    private sealed class Answering(HttpStatusCode status) : HttpMessageHandler
    {
        public HttpStatusCode Status { get; set; } = status;

        public bool MissingDatabase { get; set; }

        public List<string> Bodies { get; } = [];

        public List<string> Queries { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            if (request.RequestUri!.AbsolutePath == "/query")
            {
                Queries.Add(Uri.UnescapeDataString(body["q=".Length..].Replace('+', ' ')));
                MissingDatabase = false;
                return new HttpResponseMessage(HttpStatusCode.OK);
            }

            if (MissingDatabase)
            {
                return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("{\"error\":\"database not found: \\\"x\\\"\"}") };
            }

            Bodies.Add(body);
            return new HttpResponseMessage(Status);
        }
    }
}
