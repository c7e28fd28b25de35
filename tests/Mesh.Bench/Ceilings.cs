using System.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using Mesh.Coordinator.Etcd;
using Mesh.Testing;
using NetMQ;
using NetMQ.Sockets;

namespace Mesh.Bench;

/// <summary>What the stack does with nothing of Mesh on top: raw NetMQ Curve PUB/SUB and raw etcd, measured in the
/// same run as Mesh so that each Mesh figure can be read as a fraction of its ceiling.</summary>
public static class Ceilings
{
    private const int MessageBytes = 100;

    /// <summary>One PUB to one SUB over Curve on loopback, 100-byte messages: messages per second.</summary>
    public static double NetMqThroughput(int messages)
    {
        var (publisher, subscriber) = CurvePair();
        using var pub = publisher;
        using var sub = subscriber;
        var payload = new byte[MessageBytes];
        var received = 0;
        var receiver = new Thread(() =>
        {
            while (received < messages)
            {
                subscriber.ReceiveFrameBytes();
                received++;
            }
        });
        var clock = Stopwatch.StartNew();
        receiver.Start();
        for (var i = 0; i < messages; i++)
        {
            publisher.SendFrame(payload);
        }

        receiver.Join();
        return messages / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Round trips over two Curve PUB/SUB links (there and back), 100-byte messages: p50 and p99 of half a
    /// round trip, in milliseconds.</summary>
    public static (double P50, double P99) NetMqOneWayLatency(int samples)
    {
        var (pingPub, pingSub) = CurvePair();
        var (pongPub, pongSub) = CurvePair();
        try
        {
            var payload = new byte[MessageBytes];
            var echo = new Thread(() =>
            {
                for (var i = 0; i < samples; i++)
                {
                    pongPub.SendFrame(pingSub.ReceiveFrameBytes());
                }
            });
            echo.Start();
            var halves = new List<double>(samples);
            for (var i = 0; i < samples; i++)
            {
                var start = Stopwatch.GetTimestamp();
                pingPub.SendFrame(payload);
                pongSub.ReceiveFrameBytes();
                halves.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds / 2);
            }

            echo.Join();
            return (Stats.Percentile(halves, 0.50), Stats.Percentile(halves, 0.99));
        }
        finally
        {
            foreach (var socket in new NetMQSocket[] { pingPub, pingSub, pongPub, pongSub })
            {
                socket.Dispose();
            }
        }
    }

    private static (PublisherSocket Publisher, SubscriberSocket Subscriber) CurvePair()
    {
        var server = new NetMQCertificate();
        var client = new NetMQCertificate();
        var publisher = new PublisherSocket();
        publisher.Options.CurveServer = true;
        publisher.Options.CurveCertificate = server;
        publisher.Options.SendHighWatermark = 1_000_000;
        var port = publisher.BindRandomPort("tcp://127.0.0.1");
        var subscriber = new SubscriberSocket();
        subscriber.Options.CurveCertificate = client;
        subscriber.Options.CurveServerKey = server.PublicKey;
        subscriber.Options.ReceiveHighWatermark = 1_000_000;
        subscriber.Connect($"tcp://127.0.0.1:{port}");
        subscriber.Subscribe("");
        // A subscription takes a moment to reach the publisher: send until one arrives.
        while (true)
        {
            publisher.SendFrame([0]);
            if (subscriber.TryReceiveFrameBytes(TimeSpan.FromMilliseconds(20), out _))
            {
                break;
            }
        }

        while (subscriber.TryReceiveFrameBytes(TimeSpan.FromMilliseconds(50), out _))
        {
        }

        return (publisher, subscriber);
    }

    /// <summary>Sequential single puts: puts per second.</summary>
    public static async Task<double> EtcdSinglePuts(EtcdConnection etcd, int puts)
    {
        var value = ByteString.CopyFrom(new byte[MessageBytes]);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < puts; i++)
        {
            await etcd.KV.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"/ceiling/single/{i:D8}"), Value = value },
                deadline: EtcdConnection.Deadline());
        }

        return puts / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Sequential transactions of 100 puts each: puts per second.</summary>
    public static async Task<double> EtcdBatchedPuts(EtcdConnection etcd, int puts, string prefix = "/ceiling/batched/")
    {
        var value = ByteString.CopyFrom(new byte[MessageBytes]);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < puts; i += 100)
        {
            var txn = new TxnRequest();
            for (var j = i; j < Math.Min(puts, i + 100); j++)
            {
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8($"{prefix}{j:D8}"), Value = value } });
            }

            await etcd.KV.TxnAsync(txn, deadline: EtcdConnection.Deadline());
        }

        return puts / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Reads every key under a prefix in pages of 10,000 at one revision: seconds.</summary>
    public static async Task<double> EtcdRangeRead(EtcdConnection etcd, string prefix)
    {
        var clock = Stopwatch.StartNew();
        var from = ByteString.CopyFromUtf8(prefix);
        var end = ByteString.CopyFrom(Mesh.Coordinator.MeshKeys.RangeEnd(prefix));
        long revision = 0;
        while (true)
        {
            var page = await etcd.KV.RangeAsync(new RangeRequest { Key = from, RangeEnd = end, Limit = 10_000, Revision = revision },
                deadline: EtcdConnection.Deadline(TimeSpan.FromSeconds(30)));
            revision = revision == 0 ? page.Header.Revision : revision;
            if (!page.More)
            {
                break;
            }

            var last = page.Kvs[^1].Key.ToByteArray();
            from = ByteString.CopyFrom([.. last, 0]);
        }

        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>How long the mesh executable takes to start and exit (<c>mesh --help</c>): seconds, median of 5.</summary>
    public static double ProcessStart()
    {
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(MeshCli.StartInfo(["--help"]))!;
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            times.Add(clock.Elapsed.TotalSeconds);
        }

        return Stats.Percentile(times, 0.5);
    }
}
