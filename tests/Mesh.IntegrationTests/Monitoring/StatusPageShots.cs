using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>Screenshots of the status page in headless Chromium, saved with the test's results.</summary>
internal static class StatusPageShots
{
    public static void Save(MonitorProcess monitor, string name, string what)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, name);
        Chromium.Screenshot(monitor.Url, path);
        Assert.That(new FileInfo(path).Length, Is.GreaterThan(20_000), "a page with content");
        TestContext.AddTestAttachment(path, what);
    }
}
