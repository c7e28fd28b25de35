using System.Text.Json;
using Mesh.Peer.Headless;
using Mesh.Peer.Session;

namespace Mesh.UnitTests.Headless;

[Category("Unit")]
public sealed class EventJsonTests
{
    [Test]
    public void A_message_line_has_the_contract_fields_and_millisecond_utc_time()
    {
        var at = new DateTimeOffset(2026, 11, 24, 12, 0, 0, 123, TimeSpan.Zero);
        var line = EventJson.ToLine(new MessageEvent("ops", "id1", "amy", "héllo \"x\"", at, Own: false));
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("type").GetString(), Is.EqualTo("message"));
        Assert.That(root.GetProperty("group").GetString(), Is.EqualTo("ops"));
        Assert.That(root.GetProperty("id").GetString(), Is.EqualTo("id1"));
        Assert.That(root.GetProperty("from").GetString(), Is.EqualTo("amy"));
        Assert.That(root.GetProperty("text").GetString(), Is.EqualTo("héllo \"x\""));
        Assert.That(root.GetProperty("sent_at").GetString(), Is.EqualTo("2026-11-24T12:00:00.123Z"));
        Assert.That(line, Does.Not.Contain("\n"));
    }

    [Test]
    public void Ready_joined_left_and_error_lines_have_their_shapes()
    {
        Assert.That(EventJson.ToLine(new ReadyEvent("ops", ["amy", "bo"])), Is.EqualTo("{\"type\":\"ready\",\"group\":\"ops\",\"members\":[\"amy\",\"bo\"]}"));
        Assert.That(EventJson.ToLine(new ReadyEvent("ops", ["amy"], [new MemberId("amy", "p1")])),
            Is.EqualTo("{\"type\":\"ready\",\"group\":\"ops\",\"members\":[\"amy\"],\"peers\":[{\"name\":\"amy\",\"peer\":\"p1\"}]}"));
        Assert.That(EventJson.ToLine(new MemberEvent("ops", "bo", "p2", true)), Is.EqualTo("{\"type\":\"joined\",\"group\":\"ops\",\"name\":\"bo\",\"peer\":\"p2\"}"));
        Assert.That(EventJson.ToLine(new MemberEvent("ops", "bo", "p2", false, MemberEvent.Removed)),
            Is.EqualTo("{\"type\":\"left\",\"group\":\"ops\",\"name\":\"bo\",\"peer\":\"p2\",\"reason\":\"removed\"}"));
        Assert.That(EventJson.ToLine(new ErrorEvent("bad \n thing")), Is.EqualTo("{\"type\":\"error\",\"message\":\"bad \\n thing\"}"));
        Assert.That(EventJson.ToLine(new InfoEvent("created group 'ops'", "ops")), Is.EqualTo("{\"type\":\"info\",\"group\":\"ops\",\"message\":\"created group 'ops'\"}"));
        Assert.That(EventJson.ToLine(new InfoEvent("hello")), Is.EqualTo("{\"type\":\"info\",\"message\":\"hello\"}"));
    }

    [Test]
    public void An_invite_line_has_its_group_code_and_expiry()
    {
        var expires = new DateTimeOffset(2026, 11, 25, 12, 0, 0, 5, TimeSpan.Zero);
        Assert.That(EventJson.ToLine(new InviteEvent("ops", "mesh3.abc_-", expires)),
            Is.EqualTo("{\"type\":\"invite\",\"group\":\"ops\",\"code\":\"mesh3.abc_-\",\"expires\":\"2026-11-25T12:00:00.005Z\"}"));
        Assert.That(EventJson.IsWritten(new InviteEvent("ops", "mesh3.abc", expires)), Is.True);
    }
}
