namespace Mesh.Peer.Identity;

/// <summary>Gives each run of a peer an epoch number larger than every earlier run's, kept in the home directory.</summary>
/// <remarks>
/// Message ids are <c>peer:epoch:seq</c> with <c>seq</c> counting from 1 in each run. A new epoch per run means ids are
/// never reused after a crash (even for messages that were sent but never persisted), and receivers still see a
/// gap-free sequence within a run, which is what lets them detect and repair gaps.
/// </remarks>
public static class EpochClock
{
    public static long Next(string home)
    {
        var path = Path.Combine(home, "epoch");
        long last = 0;
        if (File.Exists(path) && long.TryParse(File.ReadAllText(path).Trim(), out var stored))
        {
            last = stored;
        }

        var epoch = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), last + 1);
        var temp = path + ".tmp";
        File.WriteAllText(temp, epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.Move(temp, path, overwrite: true);
        return epoch;
    }
}
