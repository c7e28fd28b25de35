using System.Net;
using System.Net.Sockets;

namespace Mesh.Monitoring.StatusPage;

/// <summary>The <c>Host</c> names the status page answers to: the loopback ones (<c>localhost</c>, 127.0.0.0/8,
/// <c>[::1]</c>), with or without a port, the address it was told to listen on when that is a specific non-loopback
/// one, and the names the operator adds (<c>--allow-host</c>).</summary>
/// <remarks>A page that answers to any name can be read by any web site its user visits: the site's own name is made to
/// resolve to 127.0.0.1 (DNS rebinding), and the browser, which sends the name it resolved as <c>Host</c>, lets the
/// site's script read the answer. A name of the attacker's is on no list here.</remarks>
public sealed class AllowedHosts
{
    /// <summary>The one line a request with another <c>Host</c> gets (with HTTP 421).</summary>
    public const string Refusal = "mesh monitor: this status page answers only to localhost, 127.0.0.1, [::1] and the names given with --allow-host\n";

    private readonly HashSet<string> _names;

    private AllowedHosts(IEnumerable<string> names) => _names = new HashSet<string>(names, StringComparer.Ordinal);

    /// <summary>The names added to the loopback ones, as normalized (lower case, IP addresses in their usual form).</summary>
    public IReadOnlyCollection<string> Added => _names;

    /// <summary>Loopback names only.</summary>
    public static AllowedHosts LoopbackOnly { get; } = new([]);

    /// <summary>For a page listening on <paramref name="listening"/>: the loopback names, that address when it is a
    /// specific non-loopback one (not 0.0.0.0 or [::]: which names reach those the operator says), and
    /// <paramref name="added"/>.</summary>
    /// <exception cref="ArgumentException">A name in <paramref name="added"/> is not a host name or an IP address.</exception>
    public static AllowedHosts For(IPAddress listening, IEnumerable<string> added)
    {
        var names = new List<string>();
        if (!IPAddress.IsLoopback(listening) && !listening.Equals(IPAddress.Any) && !listening.Equals(IPAddress.IPv6Any))
        {
            names.Add(listening.ToString());
        }

        foreach (var name in added)
        {
            names.Add(Normalize(name) ?? throw new ArgumentException($"'{Coordinator.TerminalText.OneLine(name)}' is not a host name or an IP address (no port, no scheme)", nameof(added)));
        }

        return new AllowedHosts(names);
    }

    /// <summary>Whether a request whose <c>Host</c> header is <paramref name="host"/> is answered.</summary>
    public bool Allows(string? host)
    {
        if (HostOf(host) is not { } name)
        {
            return false;
        }

        return name == "localhost" || _names.Contains(name)
            || (IPAddress.TryParse(name, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>The name in a <c>Host</c> header: without its port and brackets, lower case, without a final dot, an IP
    /// address in its usual form; null when the header is empty or malformed.</summary>
    public static string? HostOf(string? header)
    {
        var text = header?.Trim() ?? "";
        string name;
        string? port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            name = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':')
            {
                return null;
            }

            port = rest.Length > 0 ? rest[1..] : null;
            if (!IPAddress.TryParse(name, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return null;
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon != text.LastIndexOf(':'))
            {
                return null;
            }

            (name, port) = colon < 0 ? (text, null) : (text[..colon], text[(colon + 1)..]);
        }

        if (port is not null && (port.Length is 0 or > 5 || !port.All(char.IsAsciiDigit)))
        {
            return null;
        }

        return Normalize(name);
    }

    /// <summary>A host name or IP address as compared (lower case, no final dot, no brackets; an address in its usual
    /// form), or null when it is neither.</summary>
    public static string? Normalize(string name)
    {
        var text = name.Trim();
        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            text = text[1..^1];
        }

        if (IPAddress.TryParse(text, out var address) && (text.Contains(':', StringComparison.Ordinal) || text.All(c => char.IsAsciiDigit(c) || c == '.')))
        {
            return address.ToString();
        }

        text = text.TrimEnd('.').ToLowerInvariant();
        return text.Length is > 0 and <= 253 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_') && !text.Contains("..", StringComparison.Ordinal)
            ? text
            : null;
    }
}
