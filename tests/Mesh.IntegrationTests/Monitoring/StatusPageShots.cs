using Mesh.Testing;

namespace Mesh.IntegrationTests.Monitoring;

/// <summary>Screenshots of the status page in headless Chromium, saved with the test's results.</summary>
internal static class StatusPageShots
{
    public static void Save(MonitorProcess monitor, string name, string what)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, name);
        Chromium.Screenshot(monitor.Url, path);
        Attach(path, what);
    }

    /// <summary>The page's DOM, with a screenshot of that same load saved as <paramref name="name"/>: the picture shows
    /// what the test asserts on, for one browser start instead of two.</summary>
    public static string Load(MonitorProcess monitor, string name, string what)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, name);
        var dom = Chromium.DumpDom(monitor.Url, path);
        Attach(path, what);
        return dom;
    }

    /// <summary>Loads the page until its DOM satisfies <paramref name="condition"/> and returns that DOM, with the
    /// screenshot of the same load saved as <paramref name="name"/>.</summary>
    public static async Task<string> WaitForAsync(MonitorProcess monitor, Func<string, bool> condition, TimeSpan timeout, string waitingFor,
        string name, string what)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, name);
        var dom = "";
        await Waiting.UntilAsync(() => condition(dom = Chromium.DumpDom(monitor.Url, path)), timeout, waitingFor);
        Attach(path, what);
        return dom;
    }

    private static void Attach(string path, string what)
    {
        Assert.That(new FileInfo(path).Length, Is.GreaterThan(20_000), "a page with content");
        TestContext.AddTestAttachment(path, what);
    }
}
