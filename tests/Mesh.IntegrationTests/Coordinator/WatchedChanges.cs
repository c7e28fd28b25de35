using Mesh.Coordinator.Etcd;
using Mesh.Testing;

namespace Mesh.IntegrationTests.Coordinator;

/// <summary>What one watch handed over, for a test to wait on and check: each hand-over, and each compaction reported
/// (with how many changes had come before it).</summary>
public sealed class WatchedChanges
{
    private readonly Lock _lock = new();
    private readonly List<IReadOnlyList<KeyChange>> _handOvers = [];
    private readonly List<(long Revision, int After)> _compactions = [];

    /// <summary>Starts a watch that reports here.</summary>
    public IAsyncDisposable Start(IWatches watches, string prefix, long fromRevision) =>
        watches.Start(prefix, fromRevision, changes =>
        {
            lock (_lock)
            {
                _handOvers.Add([.. changes]);
            }

            return ValueTask.CompletedTask;
        }, revision =>
        {
            lock (_lock)
            {
                _compactions.Add((revision, _handOvers.Sum(h => h.Count)));
            }

            return ValueTask.CompletedTask;
        });

    public IReadOnlyList<IReadOnlyList<KeyChange>> HandOvers
    {
        get
        {
            lock (_lock)
            {
                return [.. _handOvers];
            }
        }
    }

    public IReadOnlyList<KeyChange> Changes => [.. HandOvers.SelectMany(h => h)];

    public IReadOnlyList<(long Revision, int After)> Compactions
    {
        get
        {
            lock (_lock)
            {
                return [.. _compactions];
            }
        }
    }

    /// <summary>Waits (10 s at most) until the changes so far satisfy <paramref name="condition"/>.</summary>
    public Task WaitForAsync(Func<IReadOnlyList<KeyChange>, bool> condition, string what) =>
        Waiting.UntilAsync(() => condition(Changes), TimeSpan.FromSeconds(10), what,
            () => string.Join(", ", Changes.Select(c => $"{(c.IsDelete ? "-" : "+")}{c.Key}@{c.ModRevision}")));
}
