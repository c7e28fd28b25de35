using System.Net.Sockets;

namespace Mesh.Coordinator;

/// <summary>Network failures in plain words, for anything the monitor or a peer tells a person: the socket error
/// under an HTTP or gRPC failure says more than either's own message.</summary>
public static class NetworkWords
{
    /// <summary>A socket error in plain words.</summary>
    public static string Words(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused: nothing listens at that address (the server stopped, or another port)",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host name not found",
        SocketError.TimedOut => "connection timed out: the host does not answer",
        SocketError.HostUnreachable or SocketError.HostDown => "host unreachable",
        SocketError.NetworkUnreachable or SocketError.NetworkDown => "network unreachable",
        SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown => "connection dropped by the other side",
        SocketError.AddressNotAvailable => "address not available on this machine",
        SocketError.AccessDenied => "connection not permitted (a firewall?)",
        _ => $"connection failed ({error})",
    };

    /// <summary>The plain words for an HTTP client failure: the socket error underneath when there is one.</summary>
    public static string Words(HttpRequestException e) =>
        Find<SocketException>(e) is { } socket ? Words(socket.SocketErrorCode) : OneLine(e.Message);

    /// <summary>The first <typeparamref name="T"/> in <paramref name="e"/> or its inner exceptions.</summary>
    public static T? Find<T>(Exception? e)
        where T : Exception
    {
        for (var depth = 0; e is not null && depth < 16; e = e.InnerException, depth++)
        {
            if (e is T found)
            {
                return found;
            }

            if (e is AggregateException { InnerExceptions.Count: > 0 } all && Find<T>(all.InnerExceptions[0]) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }

    /// <summary>A server's own message as one line of at most 200 characters, without its closing period.</summary>
    public static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim().TrimEnd('.');
        return line.Length > 200 ? line[..200] + "…" : line;
    }
}
