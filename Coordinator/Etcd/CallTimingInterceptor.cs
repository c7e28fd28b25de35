using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Mesh.Coordinator.Etcd;

/// <summary>Times every unary etcd request and tells whoever listens how long it took and whether it failed.</summary>
/// <remarks>Streams (watches, keep-alives) are long-lived and are not timed here.</remarks>
internal sealed class CallTimingInterceptor : Interceptor
{
    public event Action<string, TimeSpan, bool>? Completed;

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var listener = Completed;
        var call = continuation(request, context);
        if (listener is null)
        {
            return call;
        }

        var started = Stopwatch.GetTimestamp();
        var method = context.Method.Name;
        return new AsyncUnaryCall<TResponse>(Timed(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);

        async Task<TResponse> Timed(Task<TResponse> response)
        {
            try
            {
                var result = await response;
                listener(method, Stopwatch.GetElapsedTime(started), false);
                return result;
            }
            catch (RpcException)
            {
                listener(method, Stopwatch.GetElapsedTime(started), true);
                throw;
            }
        }
    }
}
