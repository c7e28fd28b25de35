namespace Mesh.Monitoring.Influx;

/// <summary>One InfluxDB point: a measurement, its tags, its fields (numbers or strings) and a time.</summary>
public sealed record LinePoint(
    string Measurement,
    IReadOnlyList<KeyValuePair<string, string>> Tags,
    IReadOnlyList<KeyValuePair<string, object>> Fields,
    DateTimeOffset Time);
