using Mesh.Monitoring.Influx;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class LineProtocolTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_123);

    private static LinePoint Point(string measurement, (string, string)[] tags, params (string, object)[] fields) =>
        new(measurement, tags.Select(t => KeyValuePair.Create(t.Item1, t.Item2)).ToList(),
            fields.Select(f => KeyValuePair.Create(f.Item1, f.Item2)).ToList(), At);

    [Test]
    public void A_plain_point_has_measurement_sorted_tags_fields_and_millisecond_time()
    {
        var line = LineProtocol.Format(Point("mesh_messages", [("peer", "p1"), ("group", "ops")], ("count", 42L), ("rate", 1.5)));
        Assert.That(line, Is.EqualTo("mesh_messages,group=ops,peer=p1 count=42i,rate=1.5 1795000000123"));
    }

    [Test]
    public void Spaces_commas_and_equals_are_escaped_where_the_spec_says()
    {
        var line = LineProtocol.Format(Point("my measure,x", [("tag key", "a=b, c"), ("n=ame", "v")], ("field,key=", 1L)));
        Assert.That(line, Is.EqualTo(@"my\ measure\,x,n\=ame=v,tag\ key=a\=b\,\ c field\,key\==1i 1795000000123"));
    }

    [Test]
    public void String_fields_escape_quotes_and_backslashes()
    {
        var line = LineProtocol.Format(Point("m", [], ("text", "say \"hi\" \\ bye")));
        Assert.That(line, Is.EqualTo(@"m text=""say \""hi\"" \\ bye"" 1795000000123"));
    }

    [Test]
    public void Newlines_never_split_a_point_and_empty_tags_are_left_out()
    {
        var line = LineProtocol.Format(Point("m", [("host", "a\nb"), ("empty", "")], ("v", true)));
        Assert.That(line, Does.Not.Contain("\n"));
        Assert.That(line, Is.EqualTo(@"m,host=a\ b v=true 1795000000123"));
    }

    [Test]
    public void Non_finite_numbers_are_written_as_zero_and_a_point_needs_a_field()
    {
        Assert.That(LineProtocol.Format(Point("m", [], ("v", double.NaN))), Is.EqualTo("m v=0 1795000000123"));
        Assert.Throws<ArgumentException>(() => LineProtocol.Format(Point("m", [])));
    }
}
