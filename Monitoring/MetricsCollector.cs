using System.Diagnostics.Metrics;
using Mesh.Monitoring.Influx;

namespace Mesh.Monitoring;

/// <summary>Listens to the instruments of some meters and turns what they measured into points, one snapshot
/// per reporting interval.</summary>
/// <remarks>
/// What each kind of instrument becomes (fields of one point per instrument and tag set):
/// <list type="bullet">
/// <item>counters: <c>count</c> in the interval, <c>total</c> since start, <c>rate</c> per second over the interval;</item>
/// <item>histograms: <c>count</c>, <c>sum</c>, <c>mean</c>, <c>min</c>, <c>max</c>, <c>p50</c>, <c>p90</c>, <c>p99</c> of
/// the interval (no point for an interval without values);</item>
/// <item>gauges: <c>value</c> when observed.</item>
/// </list>
/// Percentiles come from at most <see cref="MaxSamples"/> values per interval (a uniform sample beyond that).
/// </remarks>
public sealed class MetricsCollector : IDisposable
{
    public const int MaxSamples = 4096;

    private readonly MeterListener _listener = new();
    private readonly HashSet<Meter> _meters;
    private readonly object _lock = new();
    private readonly Dictionary<(Instrument, string), Series> _series = new();
    private readonly TimeProvider _time;
    private DateTimeOffset _last;

    public MetricsCollector(IEnumerable<Meter> meters, TimeProvider? time = null)
    {
        _meters = [.. meters];
        _time = time ?? TimeProvider.System;
        _last = _time.GetUtcNow();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Contains(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = (instrument, TagKey(tags));
        lock (_lock)
        {
            if (!_series.TryGetValue(key, out var series))
            {
                series = new Series(instrument, tags.ToArray());
                _series[key] = series;
            }

            series.Add(value);
        }
    }

    private static string TagKey(ReadOnlySpan<KeyValuePair<string, object?>> tags) => tags.Length switch
    {
        0 => "",
        1 => $"{tags[0].Key}={tags[0].Value}",
        _ => string.Join('\u0001', tags.ToArray().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")),
    };

    /// <summary>Everything measured since the last snapshot, as points tagged with <paramref name="tags"/> as well.</summary>
    public IReadOnlyList<LinePoint> Snapshot(IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        _listener.RecordObservableInstruments();
        var now = _time.GetUtcNow();
        var seconds = Math.Max(0.001, (now - _last).TotalSeconds);
        _last = now;
        var points = new List<LinePoint>();
        lock (_lock)
        {
            foreach (var series in _series.Values)
            {
                if (series.Fields(seconds) is { } fields)
                {
                    var all = new List<KeyValuePair<string, string>>(tags);
                    all.AddRange(series.Tags.Select(t => new KeyValuePair<string, string>(t.Key, Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "")));
                    points.Add(new LinePoint(MetricNames.Measurement(series.Instrument.Name), all, fields, now));
                }
            }
        }

        return points;
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Series(Instrument instrument, KeyValuePair<string, object?>[] tags)
    {
        private readonly List<double> _samples = [];
        private double _total;
        private double _interval;
        private long _count;
        private double _sum;
        private double _min = double.MaxValue;
        private double _max = double.MinValue;
        private double _gauge;
        private bool _observed;
        private ulong _random = 0x9E3779B97F4A7C15;

        public Instrument Instrument { get; } = instrument;

        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public void Add(double value)
        {
            switch (Instrument)
            {
                case Histogram<double> or Histogram<long> or Histogram<int>:
                    _count++;
                    _sum += value;
                    _min = Math.Min(_min, value);
                    _max = Math.Max(_max, value);
                    if (_samples.Count < MaxSamples)
                    {
                        _samples.Add(value);
                    }
                    else
                    {
                        // Reservoir sampling keeps a uniform sample of the whole interval.
                        var slot = (long)(NextRandom() % (ulong)_count);
                        if (slot < MaxSamples)
                        {
                            _samples[(int)slot] = value;
                        }
                    }

                    break;
                case ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double>:
                    // An observable counter reports its total.
                    _interval += Math.Max(0, value - _total);
                    _total = value;
                    _observed = true;
                    break;
                case Counter<long> or Counter<int> or Counter<double> or UpDownCounter<long> or UpDownCounter<int>:
                    _total += value;
                    _interval += value;
                    _observed = true;
                    break;
                default:
                    _gauge = value;
                    _observed = true;
                    break;
            }
        }

        private ulong NextRandom()
        {
            _random ^= _random << 13;
            _random ^= _random >> 7;
            _random ^= _random << 17;
            return _random;
        }

        public KeyValuePair<string, object>[]? Fields(double seconds)
        {
            switch (Instrument)
            {
                case Histogram<double> or Histogram<long> or Histogram<int>:
                    if (_count == 0)
                    {
                        return null;
                    }

                    _samples.Sort();
                    KeyValuePair<string, object>[] histogram =
                    [
                        new("count", _count), new("sum", _sum), new("mean", _sum / _count), new("min", _min), new("max", _max),
                        new("p50", Percentile(0.50)), new("p90", Percentile(0.90)), new("p99", Percentile(0.99)),
                    ];
                    _samples.Clear();
                    _count = 0;
                    _sum = 0;
                    _min = double.MaxValue;
                    _max = double.MinValue;
                    return histogram;
                case ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double>
                    or Counter<long> or Counter<int> or Counter<double> or UpDownCounter<long> or UpDownCounter<int>:
                    if (!_observed)
                    {
                        return null;
                    }

                    KeyValuePair<string, object>[] counter = [new("count", (long)_interval), new("total", (long)_total), new("rate", _interval / seconds)];
                    _interval = 0;
                    return counter;
                default:
                    if (!_observed)
                    {
                        return null;
                    }

                    _observed = false;
                    return [new("value", _gauge)];
            }
        }

        private double Percentile(double q)
        {
            // Nearest rank on the sorted sample.
            var rank = (int)Math.Ceiling(q * _samples.Count) - 1;
            return _samples[Math.Clamp(rank, 0, _samples.Count - 1)];
        }
    }
}
