using Mesh.Peer.Configuration;

namespace Mesh.UnitTests.Configuration;

[Category("Unit")]
public sealed class EtcdAccessTests
{
    private const string Password = "correct horse battery";
    private string _passwordFile = "";

    [SetUp]
    public void WritePasswordFile()
    {
        _passwordFile = Path.Combine(Path.GetTempPath(), $"mesh-pw-{Guid.NewGuid():N}");
        File.WriteAllText(_passwordFile, Password + "\n");
    }

    [TearDown]
    public void DeletePasswordFile() => File.Delete(_passwordFile);

    [TestCase("http://127.0.0.1:2379")]
    [TestCase("HTTP://etcd.example:2379")]
    [TestCase("https://a.example:2379,http://b.example:2379")]
    public void A_password_with_an_http_endpoint_is_refused_in_one_line_naming_the_endpoint_and_the_way_out(string etcd)
    {
        var endpoints = MeshOptions.ParseEndpoints(etcd);
        var warnings = new StringWriter();
        var e = Assert.Throws<MeshException>(() => EtcdAccess.From(endpoints, null, null, null, "mesh", _passwordFile, warnings: warnings))!;
        Assert.That(e.ExitCode, Is.EqualTo(2));
        Assert.That(e.Message, Does.Contain("clear text").And.Contain(endpoints.Last()).And.Contain("--etcd-insecure-password"));
        Assert.That(e.Message, Does.Not.Contain("\n").And.Not.Contain(Password));
        Assert.That(endpoints.Count == 1 || !e.Message.Contains(endpoints[0], StringComparison.Ordinal), "only the http:// ones named");
        Assert.That(warnings.ToString(), Is.Empty);
    }

    [Test]
    public void With_the_flag_the_password_goes_with_one_warning_line()
    {
        var warnings = new StringWriter();
        var settings = EtcdAccess.From(["http://127.0.0.1:2379"], null, null, null, "mesh", _passwordFile, insecurePassword: true, warnings);
        Assert.That(settings.User, Is.EqualTo("mesh"));
        Assert.That(settings.Password, Is.EqualTo(Password));
        var lines = warnings.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1));
        Assert.That(lines[0], Does.StartWith("mesh: warning:").And.Contain("clear text to http://127.0.0.1:2379").And.Not.Contain(Password));
    }

    [Test]
    public void The_variable_does_what_the_flag_does_and_a_value_that_is_not_on_or_off_is_refused()
    {
        var before = Environment.GetEnvironmentVariable(EtcdAccess.InsecurePasswordVariable);
        try
        {
            var warnings = new StringWriter();
            Environment.SetEnvironmentVariable(EtcdAccess.InsecurePasswordVariable, "1");
            Assert.That(EtcdAccess.From(["http://127.0.0.1:2379"], null, null, null, "mesh", _passwordFile, warnings: warnings).Password, Is.EqualTo(Password));
            Assert.That(warnings.ToString(), Does.Contain("clear text"));

            Environment.SetEnvironmentVariable(EtcdAccess.InsecurePasswordVariable, "0");
            Assert.Throws<MeshException>(() => EtcdAccess.From(["http://127.0.0.1:2379"], null, null, null, "mesh", _passwordFile, warnings: warnings));

            Environment.SetEnvironmentVariable(EtcdAccess.InsecurePasswordVariable, "yes please");
            var e = Assert.Throws<MeshException>(() => EtcdAccess.From(["https://127.0.0.1:2379"], null, null, null, null, null, warnings: warnings))!;
            Assert.That(e.Message, Does.StartWith(EtcdAccess.InsecurePasswordVariable).And.Contain("must be 1 or 0"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(EtcdAccess.InsecurePasswordVariable, before);
        }
    }

    [Test]
    public void Https_endpoints_or_no_user_need_no_flag_and_say_nothing()
    {
        var warnings = new StringWriter();
        Assert.That(EtcdAccess.From(["https://etcd.example:2379"], null, null, null, "mesh", _passwordFile, warnings: warnings).Password, Is.EqualTo(Password));
        Assert.That(EtcdAccess.From(["http://127.0.0.1:2379"], null, null, null, null, null, warnings: warnings).Password, Is.Null);
        Assert.That(warnings.ToString(), Is.Empty);
    }
}
