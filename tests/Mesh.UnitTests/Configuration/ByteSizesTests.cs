using Mesh.Peer.Configuration;

namespace Mesh.UnitTests.Configuration;

[Category("Unit")]
public sealed class ByteSizesTests
{
    [TestCase("2GiB", 2L << 30)]
    [TestCase("16 MiB", 16L << 20)]
    [TestCase("16mib", 16L << 20)]
    [TestCase("4096KiB", 4L << 20)]
    [TestCase("8589934592", 8L << 30)]
    public void Bytes_and_binary_units_are_read(string text, long bytes) =>
        Assert.That(ByteSizes.Parse("--etcd-quota", text, 1L << 20, 64L << 30), Is.EqualTo(bytes));

    [TestCase("2GB")]
    [TestCase("-1")]
    [TestCase("1.5GiB")]
    [TestCase("100KiB")]
    [TestCase("65GiB")]
    [TestCase("99999999999999999999GiB")]
    [TestCase("")]
    public void Anything_else_is_a_usage_error_naming_the_flag_and_the_bounds(string text)
    {
        var e = Assert.Throws<MeshException>(() => ByteSizes.Parse("--etcd-quota", text, 1L << 20, 64L << 30));
        Assert.That(e!.Message, Does.StartWith("--etcd-quota '").And.Contain("from 1 MiB to 64 GiB"));
        Assert.That(e.ExitCode, Is.EqualTo(2));
    }
}
