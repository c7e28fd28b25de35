using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Mesh.Coordinator.Etcd;

/// <summary>One gRPC channel to an etcd cluster and the raw service clients on it.</summary>
/// <remarks>
/// Mesh drives etcd's gRPC services directly (KV, Watch, Lease) rather than through the client's helper layer, so
/// that every call carries its own deadline and every stream's life is in our hands: lease loss, watch resume and
/// back-off are decisions the peer makes, not side effects of a library loop.
/// </remarks>
public sealed class EtcdConnection : IEtcdInfo, IDisposable
{
    /// <summary>How long one unary call may take before it counts as a failure.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan TokenRefresh = TimeSpan.FromMinutes(1);

    /// <summary>A connection silent this long while calls are open is pinged; one that does not answer the ping in
    /// <see cref="KeepAlivePingTimeout"/> is dropped, and its calls go to another member.</summary>
    public static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The back-off between attempts to reach a member that did not answer.</summary>
    public static readonly (TimeSpan Initial, TimeSpan Max) ReconnectBackoff = (TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));

    /// <summary>The largest answer the client takes from etcd.</summary>
    public const int MaxReceiveBytes = 64 * 1024 * 1024;

    private readonly EtcdClient _client;
    private readonly EtcdSettings _settings;
    private readonly AuthTokenInterceptor _auth = new();
    private readonly CallTimingInterceptor _timing = new();
    private readonly Auth.AuthClient _authClient;
    private readonly CancellationTokenSource _stop = new();
    private readonly X509Certificate2? _ca;
    private readonly X509Certificate2? _clientCertificate;
    private int _authenticated;

    public EtcdConnection(IReadOnlyList<string> endpoints)
        : this(new EtcdSettings(endpoints))
    {
    }

    public EtcdConnection(EtcdSettings settings)
    {
        if (settings.Endpoints.Count == 0)
        {
            throw new ArgumentException("at least one etcd endpoint is required", nameof(settings));
        }

        _settings = settings;
        Endpoints = settings.Endpoints;
        _ca = settings.CaCertificatePath is { } ca ? X509Certificate2.CreateFromPem(File.ReadAllText(ca)) : null;
        if (settings.ClientCertificatePath is { } cert)
        {
            // Through PKCS#12 so that the private key is usable by the TLS stack on every platform.
            using var pem = X509Certificate2.CreateFromPemFile(cert, settings.ClientKeyPath);
            _clientCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }

        _client = new EtcdClient(string.Join(",", settings.Endpoints), configureChannelOptions: o =>
        {
            // Range reads of what any etcd writer may fill are paged by bytes well below this (BoundedRange); watches
            // come in fragments under etcd's request limit (PrefixWatcher).
            o.MaxReceiveMessageSize = MaxReceiveBytes;
            // A member that vanished (host down, a partition) is given up on quickly and dialled again soon after it is
            // back: without these a silent connection is never dropped and the dialler's back-off grows to two
            // minutes. (No ConnectTimeout: when it fires during a failed attempt, the client's subchannel can stay
            // stuck, every call waiting out its deadline, as a restart of etcd under load showed.)
            o.InitialReconnectBackoff = ReconnectBackoff.Initial;
            o.MaxReconnectBackoff = ReconnectBackoff.Max;
            var handler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time); a peer always has a
                // watch or a keep-alive open, so pings go only while calls are.
                KeepAlivePingDelay = KeepAlivePingDelay,
                KeepAlivePingTimeout = KeepAlivePingTimeout,
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            };
            if (settings.Endpoints.Any(e => e.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                // The client reaches endpoints through a static resolver, which drops the scheme: say TLS explicitly.
                o.Credentials = ChannelCredentials.SecureSsl;
                handler.SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = ValidateServer,
                    ApplicationProtocols = [SslApplicationProtocol.Http2],
                    ClientCertificates = _clientCertificate is null ? null : [_clientCertificate],
                };
            }

            o.HttpHandler = handler;
        }, interceptors: [_timing, _auth, new RequireLeaderInterceptor()]);
        var connection = _client.GetConnection();
        KV = connection.KVClient;
        Watch = connection.WatchClient;
        Lease = connection.LeaseClient;
        Maintenance = connection.MaintenanceClient;
        Cluster = connection.ClusterClient;
        _authClient = connection.AuthClient;
    }

    public IReadOnlyList<string> Endpoints { get; }

    /// <summary>Raised after every unary request with its method name, its duration, and whether it failed.</summary>
    public event Action<string, TimeSpan, bool>? RequestCompleted
    {
        add => _timing.Completed += value;
        remove => _timing.Completed -= value;
    }

    public string Describe => _settings.Describe;

    /// <summary>Trusts etcd's certificate when it chains to the configured CA (or the system's roots) and names one
    /// of the configured endpoint hosts.</summary>
    /// <remarks>The TLS layer checks the name against the resolver's placeholder host, not the endpoint's, so the
    /// name is checked here against the hosts the user configured.</remarks>
    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        using var server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            if (_ca is null)
            {
                return false;
            }

            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.Add(_ca);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (!custom.Build(server))
            {
                return false;
            }
        }

        return _settings.Endpoints.Any(e => Uri.TryCreate(e, UriKind.Absolute, out var uri) && server.MatchesHostname(uri.Host));
    }

    /// <summary>Logs in (when a user is configured) and keeps the token fresh in the background.</summary>
    private async Task AuthenticateAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (_settings.User is null)
        {
            return;
        }

        try
        {
            var response = await _authClient.AuthenticateAsync(
                new AuthenticateRequest { Name = _settings.User, Password = _settings.Password ?? "" },
                deadline: Deadline(timeout), cancellationToken: ct);
            _auth.SetToken(response.Token);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.PermissionDenied or StatusCode.Unauthenticated)
        {
            throw new EtcdUnavailableException($"etcd at {Describe} refused user '{_settings.User}': {e.Status.Detail}", e);
        }

        if (Interlocked.Exchange(ref _authenticated, 1) == 0)
        {
            _ = Task.Run(RefreshTokenLoopAsync);
        }
    }

    private async Task RefreshTokenLoopAsync()
    {
        using var timer = new PeriodicTimer(TokenRefresh);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    await AuthenticateAsync(CallTimeout, _stop.Token);
                }
                catch (Exception e) when (e is RpcException or EtcdUnavailableException)
                {
                    // The old token serves until it expires; the next tick tries again.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public KV.KVClient KV { get; }

    public Watch.WatchClient Watch { get; }

    public Lease.LeaseClient Lease { get; }

    public Maintenance.MaintenanceClient Maintenance { get; }

    public Cluster.ClusterClient Cluster { get; }

    public static DateTime Deadline(TimeSpan? timeout = null) => DateTime.UtcNow + (timeout ?? CallTimeout);

    /// <summary>Fails with a one-line <see cref="EtcdUnavailableException"/> when etcd does not answer in time.</summary>
    public async Task<long> CheckReachableAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (await EndpointProbe.EveryOneRefusesAsync(Endpoints, timeout, ct) is { } refused)
        {
            throw new EtcdUnavailableException($"etcd unreachable at {Describe} ({NetworkWords.Words(refused)})");
        }

        try
        {
            await AuthenticateAsync(timeout, ct);
            var response = await KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(MeshKeys.Root), CountOnly = true },
                deadline: Deadline(timeout), cancellationToken: ct);
            ClusterId = response.Header.ClusterId.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
            return response.Header.Revision;
        }
        catch (RpcException e)
        {
            throw Unavailable(e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            // The deadline passed while the client was still connecting (it says so as a cancellation, not as a gRPC
            // status): etcd did not answer, which is what the caller must hear, never a silent exit.
            throw new EtcdUnavailableException($"etcd unreachable at {Describe} (no answer within {timeout.TotalSeconds:F0} s)", e);
        }
    }

    /// <summary>The id of the etcd cluster last answered from (16 hex digits; "" before the first check): a local
    /// copy of etcd's data is only continued against the cluster it came from.</summary>
    public string ClusterId { get; private set; } = "";

    /// <summary>etcd's current revision (and <see cref="ClusterId"/>), from one cheap read.</summary>
    public async Task<long> CurrentRevisionAsync(CancellationToken ct)
    {
        try
        {
            var response = await KV.RangeAsync(
                new RangeRequest { Key = ByteString.CopyFromUtf8(MeshKeys.Root), CountOnly = true },
                deadline: Deadline(), cancellationToken: ct);
            ClusterId = response.Header.ClusterId.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
            return response.Header.Revision;
        }
        catch (RpcException e)
        {
            throw Unavailable(e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new EtcdUnavailableException($"etcd unreachable at {Describe} (no answer within {CallTimeout.TotalSeconds:F0} s)", e);
        }
    }

    /// <summary>Turns a gRPC failure into an error that names the endpoints, without a stack trace's worth of detail.</summary>
    public EtcdUnavailableException Unavailable(RpcException e)
    {
        if (IsNoSpace(e))
        {
            return new EtcdUnavailableException(
                $"etcd at {Describe} is full (NOSPACE alarm): its database reached its quota and it takes no writes until it is compacted, defragmented and disarmed, see docs/monitoring.md",
                e, noSpace: true);
        }

        var why = EtcdFailure.Words(e);
        return new EtcdUnavailableException($"etcd unreachable at {Describe} ({why})", e);
    }

    /// <summary>A member's answer when it has no leader (to calls that require one: see <see cref="RequireLeaderInterceptor"/>).</summary>
    public static bool IsNoLeader(RpcException e) =>
        e.StatusCode == StatusCode.Unavailable && e.Status.Detail.Contains("no leader", StringComparison.Ordinal);

    /// <summary>etcd's answer to a write once its NOSPACE alarm is raised ("mvcc: database space exceeded").</summary>
    public static bool IsNoSpace(RpcException e) =>
        e.StatusCode == StatusCode.ResourceExhausted && e.Status.Detail.Contains("space exceeded", StringComparison.Ordinal);

    public void Dispose()
    {
        _stop.Cancel();
        _client.Dispose();
        _stop.Dispose();
        _ca?.Dispose();
        _clientCertificate?.Dispose();
    }
}
