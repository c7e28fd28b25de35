using System.Text;
using Mesh.Coordinator;
using Mesh.Coordinator.Etcd;
using Mesh.Coordinator.Membership;
using Mesh.Monitoring.StatusPage;
using Mesh.Monitoring.Watcher;

namespace Mesh.UnitTests.Monitoring;

[Category("Unit")]
public sealed class StatusPageTests
{
    [Test]
    public void The_page_carries_the_state_and_a_name_from_etcd_cannot_close_its_element()
    {
        var hostile = "</script><script>alert(1)</script>";
        var view = new MeshView((_, _) => true);
        view.Load([new KeyChange(MeshKeys.Peer("p1"), false,
            new MemberRecord("p1", hostile, new string('A', 40), Convert.ToBase64String(new byte[32]), "tcp://127.0.0.1:1", 0).ToBytes(), 1, 1)]);
        var page = Encoding.UTF8.GetBytes("<body>\n  <script src=\"/uplot.js\"></script>\n</body>");
        var html = Encoding.UTF8.GetString(StatusServer.WithState(page, view.Snapshot()));
        Assert.That(html, Does.Contain("<script id=\"initial-state\" type=\"application/json\">{"));
        Assert.That(html.IndexOf("</script>", StringComparison.Ordinal), Is.GreaterThan(html.IndexOf("initial-state", StringComparison.Ordinal)));
        Assert.That(html, Does.Not.Contain("<script>alert"), "the name is escaped inside the data");
        Assert.That(System.Text.RegularExpressions.Regex.Matches(html, "</script>").Count, Is.EqualTo(2), "the data's own end and uPlot's");
    }
}
