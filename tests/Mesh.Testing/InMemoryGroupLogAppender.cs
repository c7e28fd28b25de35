using Mesh.Coordinator;
using Mesh.Coordinator.Groups;

namespace Mesh.Testing;

/// <summary>The in-memory twin of the etcd group log writer: keys with modification revisions from one counter, the
/// same compare-and-write rule, and what holds the index answered on a failed try.</summary>
public sealed class InMemoryGroupLogAppender : IGroupLogAppender
{
    private readonly object _lock = new();
    private readonly Dictionary<string, (byte[] Value, long ModRevision)> _keys = new(StringComparer.Ordinal);
    private long _revision;

    /// <summary>Called before each try is judged, with the try (an adversary writing in between).</summary>
    public Action<LogAppend>? BeforeTry { get; set; }

    /// <summary>Tries answered so far.</summary>
    public int Tries { get; private set; }

    public (byte[] Value, long ModRevision)? Get(string key)
    {
        lock (_lock)
        {
            return _keys.TryGetValue(key, out var kv) ? kv : null;
        }
    }

    public Task<AppendResult> TryAppendAsync(LogAppend append, CancellationToken ct)
    {
        BeforeTry?.Invoke(append);
        lock (_lock)
        {
            Tries++;
            var key = MeshKeys.LogEntry(append.Group, append.Index);
            var held = _keys.TryGetValue(key, out var kv) ? kv : ((byte[]?)null, 0L);
            if (held.Item2 != append.Occupant || append.Following.Any(f => _keys.ContainsKey(MeshKeys.LogEntry(append.Group, f.Index))))
            {
                return Task.FromResult(new AppendResult(false, held.Item1, held.Item2));
            }

            _revision++;
            _keys[key] = (append.Record, _revision);
            foreach (var (index, record) in append.Following)
            {
                _keys[MeshKeys.LogEntry(append.Group, index)] = (record, _revision);
            }

            foreach (var (k, v) in append.Alongside)
            {
                _keys[k] = (v, _revision);
            }

            return Task.FromResult(AppendResult.Done);
        }
    }

    public Task PutAsync(string key, byte[] value, CancellationToken ct)
    {
        lock (_lock)
        {
            _keys[key] = (value, ++_revision);
        }

        return Task.CompletedTask;
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        lock (_lock)
        {
            if (_keys.Remove(key))
            {
                _revision++;
            }
        }

        return Task.CompletedTask;
    }
}
