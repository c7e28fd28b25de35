namespace Mesh.Monitoring;

/// <summary>Every instrument name Mesh reports, in one place (dashboards and tests refer to these).</summary>
public static class MetricNames
{
    public const string MeterName = "Mesh";
    public const string MessagesSent = "mesh.messages.sent";
    public const string MessagesReceived = "mesh.messages.received";
    public const string FramesRejected = "mesh.frames.rejected";
    public const string DuplicatesDropped = "mesh.messages.duplicates";
    public const string GapsRepaired = "mesh.gaps.repaired";
    public const string HistoryWritten = "mesh.history.written";
    public const string HistoryTransactions = "mesh.history.transactions";
}
