using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Mesh.Coordinator.Etcd;

/// <summary>Marks every KV, watch and lease call as needing a member that has a leader (etcd's <c>hasleader</c>
/// metadata): a member cut off from the rest of its cluster then refuses them at once, and ends the watches and
/// keep-alives open on it, instead of holding them while nothing it says can be trusted. The call is retried, and the
/// stream reopened, on another member.</summary>
/// <remarks>Without it, a peer whose keep-alive stream happened to be on a member split from the others keeps
/// "renewing" a lease the cluster lets expire, and its watches go silent.</remarks>
internal sealed class RequireLeaderInterceptor : Interceptor
{
    public const string Key = "hasleader";

    private static ClientInterceptorContext<TRequest, TResponse> Require<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        if (context.Method.ServiceName is not ("etcdserverpb.KV" or "etcdserverpb.Watch" or "etcdserverpb.Lease"))
        {
            // Status and member calls are asked of one member about itself: a leaderless one must still answer.
            return context;
        }

        var headers = context.Options.Headers ?? new Metadata();
        headers.Add(Key, "true");
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Require(context));

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Require(context));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(Require(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Require(context));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(Require(context));
}
