using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Mesh.Peer.Node;

namespace Mesh.Peer.Configuration;

/// <summary>Checks <c>--bind</c> and <c>--advertise</c> together, before anything listens: where the PUB socket
/// listens must be an address of this machine (or every interface), and what other peers are told must be an address
/// they can connect to, that the peer's own records would pass (<see cref="PeerEndpoint"/>), and that reaches the
/// listener.</summary>
public static class ListenEndpoints
{
    /// <summary>Returns the bind endpoint as given (trimmed); throws a <see cref="MeshException"/> naming the flag and
    /// the problem otherwise.</summary>
    public static string Check(string bind, string? advertise)
    {
        var (bindHost, bindPort, bindAddress) = ParseBind(bind);
        if (advertise is null)
        {
            if (bindHost == "*" || bindAddress is { } any && any.Equals(IPAddress.Any) || bindAddress is { } any6 && any6.Equals(IPAddress.IPv6Any))
            {
                throw new MeshException($"--bind {bind} listens on every interface: give --advertise with the address other peers should use", 2);
            }

            return bind;
        }

        var target = PeerEndpoint.TryParse(advertise, out var error)
            ?? throw new MeshException($"--advertise: '{Naming.Printable(advertise)}' is not an endpoint like tcp://192.0.2.10:7000 ({error})", 2);
        if (target.Address is { } address)
        {
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            {
                throw new MeshException($"--advertise {advertise}: {address} is not an address other peers can connect to; give this machine's address", 2);
            }

            if (IsMulticastOrBroadcast(address))
            {
                throw new MeshException($"--advertise {advertise}: {address} is a multicast or broadcast address; give this machine's address", 2);
            }

            if (IPAddress.IsLoopback(address) && !(bindAddress is { } bound && IPAddress.IsLoopback(bound)) && bindHost != "localhost")
            {
                throw new MeshException($"--advertise {advertise} is loopback but --bind {bind} is not: peers on other machines could never reach it; advertise this machine's address, or bind 127.0.0.1", 2);
            }
        }

        if (bindPort is null)
        {
            throw new MeshException($"--bind {bind} takes a free port, which --advertise {advertise} cannot name in advance: give --bind a port", 2);
        }

        return bind;
    }

    /// <summary>Host, port (null for *), and address (null for * and localhost) of a bind endpoint.</summary>
    private static (string Host, int? Port, IPAddress? Address) ParseBind(string bind)
    {
        string Fail(string why) => throw new MeshException($"--bind: '{Naming.Printable(bind)}' {why}", 2);

        if (bind.Length > 300 || !bind.StartsWith("tcp://", StringComparison.Ordinal))
        {
            Fail("is not an endpoint like tcp://127.0.0.1:5555");
        }

        var hostPort = bind["tcp://".Length..];
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0)
        {
            Fail("is not an endpoint like tcp://127.0.0.1:5555");
        }

        var portText = hostPort[(colon + 1)..];
        int? port = null;
        if (portText != "*")
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                Fail("has no valid port (1-65535, or * for a free one)");
            }

            port = p;
        }

        var host = hostPort[..colon];
        if (host is "*" or "localhost")
        {
            return (host, port, null);
        }

        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (!IPAddress.TryParse(literal, out var address) || (address.AddressFamily == AddressFamily.InterNetwork && literal.Count(c => c == '.') != 3)
            || (address.AddressFamily == AddressFamily.InterNetworkV6 && literal == host))
        {
            Fail("does not name an address of this machine: give an IP address (IPv6 in brackets), or * for every interface");
        }

        if (IsMulticastOrBroadcast(address!))
        {
            Fail("names a multicast or broadcast address: give an address of this machine");
        }

        return (host, port, address);
    }

    private static bool IsMulticastOrBroadcast(IPAddress address) =>
        address.IsIPv6Multicast || address.Equals(IPAddress.Broadcast)
        || (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] is >= 224 and <= 239);
}
