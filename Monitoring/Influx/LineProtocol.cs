using System.Globalization;
using System.Text;

namespace Mesh.Monitoring.Influx;

/// <summary>Writes points in InfluxDB 1.x line protocol, escaping as the spec requires:
/// measurement <c>, space</c>; tag keys, tag values and field keys <c>, = space</c>; string field values
/// <c>" \</c>; integers end in <c>i</c>; time in milliseconds (<c>precision=ms</c>).</summary>
public static class LineProtocol
{
    public static string Format(LinePoint point)
    {
        var line = new StringBuilder(128);
        Append(point, line);
        return line.ToString();
    }

    public static void Append(LinePoint point, StringBuilder line)
    {
        if (point.Fields.Count == 0)
        {
            throw new ArgumentException("a point needs at least one field", nameof(point));
        }

        Escape(point.Measurement, line, measurement: true);
        // Tags sorted by key: what InfluxDB recommends, and it makes lines comparable.
        foreach (var (key, value) in point.Tags.Where(t => t.Value.Length > 0).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            line.Append(',');
            Escape(key, line, measurement: false);
            line.Append('=');
            Escape(value, line, measurement: false);
        }

        line.Append(' ');
        var first = true;
        foreach (var (key, value) in point.Fields)
        {
            if (!first)
            {
                line.Append(',');
            }

            first = false;
            Escape(key, line, measurement: false);
            line.Append('=');
            AppendValue(value, line);
        }

        line.Append(' ').Append(point.Time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
    }

    private static void AppendValue(object value, StringBuilder line)
    {
        switch (value)
        {
            case long or int or short:
                line.Append(Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)).Append('i');
                break;
            case double d when double.IsFinite(d):
                line.Append(d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case double:
                // NaN and infinities have no line-protocol form.
                line.Append('0');
                break;
            case float f:
                AppendValue((double)f, line);
                break;
            case bool b:
                line.Append(b ? "true" : "false");
                break;
            default:
                line.Append('"');
                foreach (var c in Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")
                {
                    if (c is '"' or '\\')
                    {
                        line.Append('\\');
                    }

                    line.Append(c);
                }

                line.Append('"');
                break;
        }
    }

    private static void Escape(string text, StringBuilder line, bool measurement)
    {
        foreach (var c in text)
        {
            if (c == '\n' || c == '\r')
            {
                // A newline ends a point: it cannot appear escaped, so it becomes a space (escaped).
                line.Append("\\ ");
                continue;
            }

            if (c is ',' or ' ' || (!measurement && c == '='))
            {
                line.Append('\\');
            }

            line.Append(c);
        }
    }
}
