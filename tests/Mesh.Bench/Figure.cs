using System.Globalization;

namespace Mesh.Bench;

/// <summary>One measured figure: its value, the ceiling it is compared with (a raw measurement of the same run),
/// and the target it must meet.</summary>
/// <param name="HigherIsBetter">Whether the target is a floor (throughput) or a limit (latency, time, memory).</param>
public sealed record Figure(string Name, double Value, string Unit, string Target, double? TargetValue, bool HigherIsBetter,
    string? CeilingName = null, double? Ceiling = null)
{
    /// <summary>Value over ceiling for rates; ceiling over value for times (1 = as good as the raw stack).</summary>
    public double? Ratio => Ceiling is { } c && c > 0 && Value > 0 ? (HigherIsBetter ? Value / c : c / Value) : null;

    public bool? Met => TargetValue is { } t ? (HigherIsBetter ? Value >= t : Value < t) : null;

    public static string Format(double value) => value switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("F1", CultureInfo.InvariantCulture),
        _ => value.ToString("F2", CultureInfo.InvariantCulture),
    };

    public string Row() =>
        $"| {Name} | {Format(Value)} {Unit} | {(Ceiling is { } c ? $"{Format(c)} {Unit} ({CeilingName})" : CeilingName ?? "–")} | {(Ratio is { } r ? r.ToString("P0", CultureInfo.InvariantCulture) : "–")} | {Target} | {(Met is { } m ? (m ? "met" : "missed") : "–")} |";
}
