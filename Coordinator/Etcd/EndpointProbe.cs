using System.Net.Sockets;

namespace Mesh.Coordinator.Etcd;

/// <summary>Asks each etcd endpoint's host for a TCP connection before the first gRPC call: when every one refuses (or its
/// host is not found or unreachable), that is the answer at once, in the same words and time for every command, rather
/// than after the gRPC client's retries (1 to 5 s, depending on what else is calling).</summary>
public static class EndpointProbe
{
    /// <summary>The error every endpoint answered with (the first one's), or null when one accepted, one gave no answer
    /// within <paramref name="timeout"/> (the gRPC call then decides, under its own deadline), or an endpoint is not a
    /// URL this probe understands.</summary>
    public static async Task<SocketError?> EveryOneRefusesAsync(IReadOnlyList<string> endpoints, TimeSpan timeout, CancellationToken ct)
    {
        var probes = new List<Task<SocketError?>>();
        foreach (var endpoint in endpoints)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Port <= 0 || uri.Host.Length == 0)
            {
                return null;
            }

            probes.Add(ProbeAsync(uri.Host, uri.Port, timeout, ct));
        }

        var answers = await Task.WhenAll(probes).ConfigureAwait(false);
        return answers.Length > 0 && answers.All(a => a is not null && a != SocketError.Success && a != SocketError.TimedOut) ? answers[0] : null;
    }

    /// <summary>Success, a definite refusal, or TimedOut when there was no answer in time.</summary>
    private static async Task<SocketError?> ProbeAsync(string host, int port, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host.Trim('[', ']'), port, deadline.Token).ConfigureAwait(false);
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return SocketError.TimedOut;
        }
    }
}
