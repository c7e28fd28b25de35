namespace Mesh.Testing;

/// <summary>Debian's Chromium, headless, for page tests: the DOM after the page's scripts ran, and screenshots.</summary>
public static class Chromium
{
    private static IEnumerable<string> Flags(string profile) =>
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-extensions", "--disable-sync", "--no-first-run", "--no-default-browser-check", "--mute-audio",
        $"--user-data-dir={profile}", "--window-size=1400,1100",
        // Lets the page's timers and fetches run for this long (virtual time) before the DOM is read.
        "--virtual-time-budget=5000",
    ];

    /// <summary>The serialized DOM of <paramref name="url"/> once its scripts have run.</summary>
    public static string DumpDom(string url) => Run(url, "--dump-dom");

    /// <summary>The serialized DOM of <paramref name="url"/> once its scripts have run, and a PNG of that same load saved
    /// to <paramref name="screenshot"/>: one browser start for both, which is most of what a page load costs.</summary>
    public static string DumpDom(string url, string screenshot) => Run(url, "--dump-dom", $"--screenshot={screenshot}");

    /// <summary>Saves a PNG of <paramref name="url"/> to <paramref name="path"/>.</summary>
    public static void Screenshot(string url, string path) => Run(url, $"--screenshot={path}");

    private static string Run(string url, params string[] actions)
    {
        var profile = Path.Combine(Path.GetTempPath(), $"mesh-chromium-{Guid.NewGuid():N}");
        try
        {
            var (code, output) = Tool.Run("chromium", [.. Flags(profile), .. actions, url]);
            if (code != 0)
            {
                throw new InvalidOperationException($"chromium {string.Join(' ', actions)} {url} failed ({code}): {output}");
            }

            return output;
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
