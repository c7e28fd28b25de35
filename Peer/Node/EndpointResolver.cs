using System.Net;

namespace Mesh.Peer.Node;

/// <summary>Resolves the DNS names in peers' endpoints in the background, never on the poller or the session loop:
/// a name that does not resolve, or resolves slowly, costs that one link.</summary>
/// <remarks>An answer is kept for <see cref="DefaultKeepFor"/> (or as given); a failure too, so that a bad name is not asked again at
/// every change. An address due for a refresh is still used while the refresh runs. <c>onResolved</c> is called (from
/// a pool thread) when an answer arrives, and again when a failure goes stale, so the links can be applied again.</remarks>
public sealed class EndpointResolver(Action onResolved, Func<string, CancellationToken, Task<IPAddress[]>>? lookup = null, TimeSpan? keepFor = null)
{
    public static readonly TimeSpan DefaultKeepFor = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private const int MaxNames = 4096;

    private readonly TimeSpan _keepFor = keepFor ?? DefaultKeepFor;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _lookup = lookup ?? Dns.GetHostAddressesAsync;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Answer> _answers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The address to connect to for <paramref name="endpoint"/>, when known; otherwise null, with the reason
    /// (still resolving, or the failure), and a lookup starts if none is under way.</summary>
    public IPAddress? AddressOf(PeerEndpoint endpoint, out string? failure)
    {
        failure = null;
        if (endpoint.Address is { } literal)
        {
            return literal;
        }

        IPAddress? known;
        lock (_lock)
        {
            if (_answers.TryGetValue(endpoint.Host, out var answer) && (answer.Pending || DateTime.UtcNow - answer.At < _keepFor))
            {
                failure = answer.Pending && answer.Address is null ? "resolving" : answer.Failure;
                return answer.Address;
            }

            if (_answers.Count >= MaxNames)
            {
                _answers.Clear();
            }

            // An address that is due for a refresh is still used meanwhile: a link is not torn down to look it up.
            known = answer?.Address;
            _answers[endpoint.Host] = new Answer(known, null, answer?.At ?? DateTime.UtcNow, Pending: true);
        }

        _ = ResolveAsync(endpoint.Host);
        failure = known is null ? "resolving" : null;
        return known;
    }

    private async Task ResolveAsync(string host)
    {
        Answer answer;
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            var addresses = await _lookup(host, timeout.Token).ConfigureAwait(false);
            var address = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            answer = new Answer(address, address is null ? $"{host} has no address" : null, DateTime.UtcNow, Pending: false);
        }
        catch (Exception e)
        {
            answer = new Answer(null, $"{host} does not resolve ({e.Message})", DateTime.UtcNow, Pending: false);
        }

        lock (_lock)
        {
            _answers[host] = answer;
        }

        Notify();
        if (answer.Address is null)
        {
            // A name that failed is tried again once its failure is stale, whether or not anything else changes.
            await Task.Delay(_keepFor).ConfigureAwait(false);
            Notify();
        }
    }

    private void Notify()
    {
        try
        {
            onResolved();
        }
        catch (Exception)
        {
            // The caller's re-application of links is best effort: the next change applies them again.
        }
    }

    private sealed record Answer(IPAddress? Address, string? Failure, DateTime At, bool Pending);
}
