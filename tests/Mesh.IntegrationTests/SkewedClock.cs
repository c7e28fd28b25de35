namespace Mesh.IntegrationTests;

/// <summary>The environment that starts a peer with its wall clock off by an offset (libfaketime), for clock tests.</summary>
public static class SkewedClock
{
    /// <summary>LD_PRELOAD of libfaketime with <paramref name="offset"/> (<c>-1h</c>, <c>+30d</c>): timers and
    /// timeouts keep real time; only the wall clock (what a message says it was sent at) is off.</summary>
    public static Dictionary<string, string> Environment(string offset) =>
        new() { ["LD_PRELOAD"] = Library, ["FAKETIME"] = offset, ["FAKETIME_DONT_FAKE_MONOTONIC"] = "1" };

    /// <summary>Where Debian's faketime package put libfaketime.</summary>
    public static string Library
    {
        get
        {
            var found = Directory.EnumerateFiles("/usr/lib", "libfaketime.so.1", SearchOption.AllDirectories).FirstOrDefault();
            Assert.That(found, Is.Not.Null, "libfaketime is not installed (deploy/test.sh installs Debian's faketime)");
            return found!;
        }
    }
}
