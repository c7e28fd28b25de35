using System.Globalization;

namespace Mesh.Peer.Groups;

/// <summary>How much of a group's history is kept: messages younger than <see cref="MaxAge"/> and/or the newest
/// <see cref="MaxCount"/>; with both, whichever keeps less. Chosen when the group is created, in its signed genesis.</summary>
/// <remarks>
/// Written as <c>90d</c>, <c>12h</c>, <c>30m</c>, <c>52w</c>, <c>1y</c> (an age), <c>50000</c> (a count),
/// <c>90d,50000</c> (both) or <c>all</c> (everything, forever: what groups created before retention keep).
/// </remarks>
public readonly record struct Retention(TimeSpan? MaxAge, long? MaxCount)
{
    /// <summary>What a group keeps unless its creator chose otherwise: a year, at most a million messages.</summary>
    public static readonly Retention Default = new(TimeSpan.FromDays(365), 1_000_000);

    /// <summary>Everything, forever.</summary>
    public static readonly Retention All = new(null, null);

    public static readonly TimeSpan MinAge = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan MaxAgeLimit = TimeSpan.FromDays(100 * 365);

    public const long MaxCountLimit = 1_000_000_000;

    public const string Rule = "an age (90d, 12h, 30m, 52w, 1y), a count of messages (50000), both (90d,50000) or 'all'";

    public bool KeepsAll => MaxAge is null && MaxCount is null;

    /// <summary>The policy of <paramref name="text"/>, or null with the reason.</summary>
    public static Retention? TryParse(string? text, out string error)
    {
        error = "";
        var value = text?.Trim() ?? "";
        if (value.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return All;
        }

        TimeSpan? age = null;
        long? count = null;
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        if (value.Length == 0 || parts.Length > 2)
        {
            error = $"'{text}' is not a retention: give {Rule}";
            return null;
        }

        foreach (var part in parts)
        {
            if (long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                if (count is not null || n < 1 || n > MaxCountLimit)
                {
                    error = $"'{part}': keep 1 to {MaxCountLimit:N0} messages, once";
                    return null;
                }

                count = n;
                continue;
            }

            if (ParseAge(part) is not { } a || age is not null)
            {
                error = $"'{part}' is not an age or a count: give {Rule}";
                return null;
            }

            if (a < MinAge || a > MaxAgeLimit)
            {
                error = $"'{part}': keep between 1 minute and 100 years of history";
                return null;
            }

            age = a;
        }

        return new Retention(age, count);
    }

    private static TimeSpan? ParseAge(string part)
    {
        if (part.Length < 2 || !long.TryParse(part.AsSpan(0, part.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000_000)
        {
            return null;
        }

        double? minutes = char.ToLowerInvariant(part[^1]) switch
        {
            'm' => n,
            'h' => n * 60.0,
            'd' => n * 1440.0,
            'w' => n * 7 * 1440.0,
            'y' => n * 365 * 1440.0,
            _ => null,
        };
        // Past the limit it is refused as such (never a TimeSpan overflow: a hostile genesis may say 99999999y).
        return minutes is { } m ? TimeSpan.FromMinutes(Math.Min(m, MaxAgeLimit.TotalMinutes + 1)) : null;
    }

    /// <summary>The same text <see cref="TryParse"/> reads: what the genesis stores and what is shown.</summary>
    public override string ToString()
    {
        if (KeepsAll)
        {
            return "all";
        }

        var parts = new List<string>(2);
        if (MaxAge is { } age)
        {
            parts.Add(FormatAge(age));
        }

        if (MaxCount is { } count)
        {
            parts.Add(count.ToString(CultureInfo.InvariantCulture));
        }

        return string.Join(',', parts);
    }

    private static string FormatAge(TimeSpan age) =>
        age.TotalDays >= 365 && age.TotalDays % 365 == 0 ? $"{age.TotalDays / 365:F0}y"
        : age.TotalDays >= 1 && age.TotalDays % 1 == 0 ? $"{age.TotalDays:F0}d"
        : age.TotalHours >= 1 && age.TotalHours % 1 == 0 ? $"{age.TotalHours:F0}h"
        : $"{age.TotalMinutes:F0}m";

    /// <summary>In words, for people: "a year of history, at most 1,000,000 messages".</summary>
    public string Describe() =>
        KeepsAll ? "all history, forever"
        : MaxAge is { } age && MaxCount is { } count ? $"{FormatAge(age)} of history, at most {count:N0} messages"
        : MaxAge is { } a ? $"{FormatAge(a)} of history"
        : $"the newest {MaxCount:N0} messages";
}
