using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Mesh.Peer.Node;

/// <summary>An endpoint another peer advertises: <c>tcp://HOST:PORT</c>, HOST an IP literal (IPv6 in brackets) or a
/// DNS name, PORT 1-65535. Anything else is refused before it reaches a socket.</summary>
public sealed record PeerEndpoint(string Host, int Port, IPAddress? Address)
{
    private const int MaxLength = 300;

    /// <summary>Parses an untrusted endpoint; null, with the reason, when it is not one.</summary>
    public static PeerEndpoint? TryParse(string? endpoint, out string error)
    {
        error = "";
        if (endpoint is null || endpoint.Length > MaxLength || !endpoint.StartsWith("tcp://", StringComparison.Ordinal))
        {
            error = "not tcp://HOST:PORT";
            return null;
        }

        var hostPort = endpoint["tcp://".Length..];
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = "no valid port (1-65535)";
            return null;
        }

        var host = hostPort[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            if (IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
            {
                return new PeerEndpoint(host, port, v6);
            }

            error = "not an IPv6 address in brackets";
            return null;
        }

        if (IPAddress.TryParse(host, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork && host.Count(c => c == '.') == 3)
        {
            return new PeerEndpoint(host, port, v4);
        }

        if (!IsDnsName(host))
        {
            error = "host is neither an IP address nor a DNS name";
            return null;
        }

        return new PeerEndpoint(host, port, null);
    }

    /// <summary>The endpoint to connect to once the host is an address.</summary>
    public string ConnectTo(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6
        ? string.Create(CultureInfo.InvariantCulture, $"tcp://[{address}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"tcp://{address}:{Port}");

    private static bool IsDnsName(string host)
    {
        if (host.Length is 0 or > 253)
        {
            return false;
        }

        var labels = host.TrimEnd('.').Split('.');
        if (labels[^1].All(char.IsAsciiDigit))
        {
            // An all-numeric last label is a malformed address (1.2.3), not a name.
            return false;
        }

        foreach (var label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-'
                || !label.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
