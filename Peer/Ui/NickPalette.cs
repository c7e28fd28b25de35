namespace Mesh.Peer.Ui;

/// <summary>The colours names are drawn in: <see cref="MessageLayout.NickColours"/> of them, twelve hues 30° apart
/// at three lightness and saturation steps, all of middle lightness so that each reads on a dark and a light
/// background. Terminals with 256 colours show the nearest of their cube; true-colour terminals show them as they are.</summary>
public static class NickPalette
{
    public static IReadOnlyList<(byte R, byte G, byte B)> Colours { get; } = Build();

    /// <summary>The colour of Mesh's own lines (a calm blue).</summary>
    public static int InfoColour => 7;

    private static List<(byte, byte, byte)> Build()
    {
        var colours = new List<(byte, byte, byte)>(MessageLayout.NickColours);
        (double S, double L)[] steps = [(0.85, 0.45), (0.65, 0.55), (0.75, 0.38)];
        foreach (var (saturation, lightness) in steps)
        {
            for (var hue = 0; hue < 12; hue++)
            {
                // Each step turned by 10° so that no two colours share a hue.
                colours.Add(FromHsl((hue * 30 + 10 * Array.IndexOf(steps, (saturation, lightness))) % 360, saturation, lightness));
            }
        }

        return colours;
    }

    private static (byte, byte, byte) FromHsl(double hue, double saturation, double lightness)
    {
        var c = (1 - Math.Abs(2 * lightness - 1)) * saturation;
        var x = c * (1 - Math.Abs(hue / 60 % 2 - 1));
        var m = lightness - c / 2;
        var (r, g, b) = hue switch
        {
            < 60 => (c, x, 0.0),
            < 120 => (x, c, 0.0),
            < 180 => (0.0, c, x),
            < 240 => (0.0, x, c),
            < 300 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        return ((byte)Math.Round((r + m) * 255), (byte)Math.Round((g + m) * 255), (byte)Math.Round((b + m) * 255));
    }
}
