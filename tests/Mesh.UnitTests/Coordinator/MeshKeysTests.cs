using System.Text;
using Mesh.Coordinator;

namespace Mesh.UnitTests.Coordinator;

[Category("Unit")]
public sealed class MeshKeysTests
{
    [Test]
    public void Range_end_is_the_prefix_with_its_last_byte_incremented()
    {
        Assert.That(Encoding.UTF8.GetString(MeshKeys.RangeEnd("/mesh/history/ops/")), Is.EqualTo("/mesh/history/ops0"));
    }

    [Test]
    public void Group_prefixes_do_not_overlap()
    {
        Assert.That(MeshKeys.HistoryPrefix("ops2").StartsWith(MeshKeys.HistoryPrefix("ops"), StringComparison.Ordinal), Is.False);
        Assert.That(MeshKeys.MembersPrefix("ops2").StartsWith(MeshKeys.MembersPrefix("ops"), StringComparison.Ordinal), Is.False);
    }
}
