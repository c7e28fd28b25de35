using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Mesh.Coordinator.Etcd;

/// <summary>Follows every change under one key prefix, from a start revision, across broken streams.</summary>
/// <remarks>
/// The watcher remembers the revision after the last event it delivered and re-creates the watch from there when
/// the stream breaks, so a reconnect neither skips nor repeats a change. Changes are handed to the callback in
/// revision order, one response at a time; the callback is awaited before the next response is read.
/// The watch asks etcd for fragments: a watch that catches up on many revisions would otherwise get them in one
/// response, and 70 MB that an etcd writer put under the prefix would be over the receive limit at every retry, for
/// good. Fragments are handed over at revision boundaries, so the revision resumed from never falls inside one.
/// </remarks>
public sealed partial class PrefixWatcher : IAsyncDisposable
{
    private readonly EtcdConnection _etcd;
    private readonly string _prefix;
    private readonly Func<IReadOnlyList<KeyChange>, ValueTask> _onChanges;
    private readonly Func<long, ValueTask>? _onCompacted;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private long _nextRevision;
    private Task? _loop;

    public PrefixWatcher(
        EtcdConnection etcd,
        string prefix,
        long startRevision,
        Func<IReadOnlyList<KeyChange>, ValueTask> onChanges,
        ILogger log,
        Func<long, ValueTask>? onCompacted = null)
    {
        _etcd = etcd;
        _prefix = prefix;
        _nextRevision = startRevision;
        _onChanges = onChanges;
        _onCompacted = onCompacted;
        _log = log;
    }

    /// <summary>The revision the watch resumes from after a reconnect.</summary>
    public long NextRevision => Interlocked.Read(ref _nextRevision);

    public void Start() => _loop = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        var backoff = new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var call = _etcd.Watch.Watch(cancellationToken: ct);
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest
                    {
                        Key = ByteString.CopyFromUtf8(_prefix),
                        RangeEnd = ByteString.CopyFrom(MeshKeys.RangeEnd(_prefix)),
                        StartRevision = NextRevision,
                        Fragment = true,
                    },
                }, ct);

                // The changes of a revision whose fragments are not all in yet.
                var held = new List<KeyChange>();

                await foreach (var response in call.ResponseStream.ReadAllAsync(ct))
                {
                    if (response.CompactRevision > 0)
                    {
                        // The revisions we needed are gone: resume from the oldest one kept and let the owner
                        // re-read its state so nothing in between is missed.
                        LogCompacted(_prefix, NextRevision, response.CompactRevision);
                        Interlocked.Exchange(ref _nextRevision, response.CompactRevision);
                        if (_onCompacted is not null)
                        {
                            await _onCompacted(response.CompactRevision);
                        }

                        break;
                    }

                    if (response.Canceled)
                    {
                        LogCanceled(_prefix, response.CancelReason);
                        break;
                    }

                    backoff.Reset();
                    if (response.Events.Count == 0)
                    {
                        continue;
                    }

                    var changes = held;
                    foreach (var e in response.Events)
                    {
                        changes.Add(new KeyChange(
                            e.Kv.Key.ToStringUtf8(),
                            e.Type == Mvccpb.Event.Types.EventType.Delete,
                            e.Kv.Value.ToByteArray(),
                            e.Kv.ModRevision,
                            e.Kv.Lease,
                            e.Kv.Version));
                    }

                    held = response.Fragment ? TakeLastRevision(changes) : [];
                    if (changes.Count == 0)
                    {
                        continue;
                    }

                    await _onChanges(changes);
                    Interlocked.Exchange(ref _nextRevision, changes[^1].ModRevision + 1);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogBroken(e, _prefix, NextRevision);
            }

            try
            {
                await Task.Delay(backoff.Next(), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Removes the changes of the last revision from <paramref name="changes"/> and returns them: more of
    /// that revision may come in the next fragment.</summary>
    public static List<KeyChange> TakeLastRevision(List<KeyChange> changes)
    {
        if (changes.Count == 0)
        {
            return [];
        }

        var last = changes[^1].ModRevision;
        var from = changes.Count;
        while (from > 0 && changes[from - 1].ModRevision == last)
        {
            from--;
        }

        var tail = changes.GetRange(from, changes.Count - from);
        changes.RemoveRange(from, changes.Count - from);
        return tail;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "watch on {Prefix} broke; resuming from revision {Revision}")]
    private partial void LogBroken(Exception e, string prefix, long revision);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "watch on {Prefix} needed revision {Revision}, compacted up to {Compacted}; re-reading")]
    private partial void LogCompacted(string prefix, long revision, long compacted);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "watch on {Prefix} canceled by etcd: {Reason}")]
    private partial void LogCanceled(string prefix, string reason);
}
