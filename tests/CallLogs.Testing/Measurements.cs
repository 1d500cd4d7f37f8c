using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CallLogs.Testing;

/// <summary>
/// What one instrument of the services in this process records (a counter's additions, a gauge's readings) while this
/// listener lives, with each value's <c>queue</c>, <c>message_type</c>... tags.
/// </summary>
public sealed class Measurements : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(long Value, IReadOnlyDictionary<string, object?> Tags)> _values = new();

    public Measurements(string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            _values.Enqueue((value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        _listener.Start();
    }

    /// <summary>The sum of everything recorded: a counter's total.</summary>
    public long Total => _values.Sum(v => v.Value);

    /// <summary>Every value recorded so far, oldest first.</summary>
    public IReadOnlyList<(long Value, IReadOnlyDictionary<string, object?> Tags)> Values => [.. _values];

    /// <summary>Reads the observable instruments (gauges) once now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    public void Dispose() => _listener.Dispose();
}
