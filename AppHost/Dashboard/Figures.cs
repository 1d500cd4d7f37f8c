using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CallLogs.AppHost.Hosting;

namespace CallLogs.AppHost.Dashboard;

public sealed record RatePoint(DateTimeOffset Time, double Accepted, double Refused);

public sealed record QueueFigure(string Vhost, string Name, long Messages, long Consumers);

/// <summary>The live figures of the dashboard, as last collected.</summary>
public sealed record FiguresSnapshot(
    DateTimeOffset CollectedAt,
    IReadOnlyList<RatePoint> Ingest,
    IReadOnlyList<QueueFigure> Queues,
    IReadOnlyDictionary<string, JsonElement?> Status,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Metrics);

/// <summary>
/// Collects, every two seconds, what says whether the platform does its job: every figure comes from the
/// services' own /metrics (Prometheus) and status APIs, and from RabbitMQ's management API; never from a database.
/// </summary>
public sealed class FiguresCollector(IReadOnlyList<ServiceResource> services, Uri rabbitMqManagement, Uri rabbitMqAmqp, string operatorJwt)
{
    /// <summary>Status APIs of the services that the dashboard shows as tables (operator role).</summary>
    public static readonly IReadOnlyDictionary<string, (string Service, string Path)> StatusSources = new Dictionary<string, (string, string)>
    {
        ["export"] = ("Export", "/api/ops/export-status"),
        ["stream"] = ("Stream", "/api/ops/channels"),
        ["audit"] = ("Audit", "/api/ops/delivery"),
        ["operations-ingest"] = ("Ingest", "/api/ops/operations"),
        ["operations-export"] = ("Export", "/api/ops/operations"),
    };

    public const string AcceptedMetric = "calllogs_ingest_records_accepted_total";
    public const string RefusedMetric = "calllogs_ingest_records_refused_total";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private readonly Queue<RatePoint> _ingest = new();
    private (DateTimeOffset Time, double Accepted, double Refused)? _lastIngest;

    public FiguresSnapshot Current { get; private set; } = new(DateTimeOffset.UtcNow, [], [], new Dictionary<string, JsonElement?>(), new Dictionary<string, IReadOnlyDictionary<string, double>>());

    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        do
        {
            try
            {
                Current = await CollectAsync(stopping);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One failed round leaves the previous figures; the next round tries again.
            }
        }
        while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
    }

    private async Task<FiguresSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var metrics = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        foreach (var service in services.Where(s => s.State == ResourceState.Healthy))
        {
            try
            {
                metrics[service.Name] = PrometheusText.Sums(await _http.GetStringAsync(new Uri(service.Url, "/metrics"), cancellationToken));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not answering right now: shown as missing.
            }
        }

        if (metrics.TryGetValue("ingest", out var ingest))
        {
            var accepted = ingest.GetValueOrDefault(AcceptedMetric);
            var refused = ingest.GetValueOrDefault(RefusedMetric);
            if (_lastIngest is { } last && accepted >= last.Accepted)
            {
                var seconds = Math.Max((now - last.Time).TotalSeconds, 0.001);
                _ingest.Enqueue(new RatePoint(now, (accepted - last.Accepted) / seconds, Math.Max(refused - last.Refused, 0) / seconds));
                while (_ingest.Count > 300)
                {
                    _ingest.Dequeue();
                }
            }

            _lastIngest = (now, accepted, refused);
        }

        var status = new Dictionary<string, JsonElement?>();
        foreach (var (key, (service, path)) in StatusSources)
        {
            status[key] = await StatusAsync(service, path, cancellationToken);
        }

        return new FiguresSnapshot(now, [.. _ingest], await QueuesAsync(cancellationToken), status, metrics);
    }

    private async Task<JsonElement?> StatusAsync(string service, string path, CancellationToken cancellationToken)
    {
        var resource = services.FirstOrDefault(s => s.Service == service);
        if (resource is null || resource.State != ResourceState.Healthy)
        {
            return null;
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(resource.Url, path));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorJwt);
            using var response = await _http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return json.RootElement.Clone();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    private async Task<IReadOnlyList<QueueFigure>> QueuesAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(rabbitMqManagement, "api/queues?columns=name,vhost,messages,consumers"));
            var user = rabbitMqAmqp.UserInfo.Length > 0 ? Uri.UnescapeDataString(rabbitMqAmqp.UserInfo) : "guest:guest";
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user)));
            using var response = await _http.SendAsync(request, cancellationToken);
            response.EnsureSuccessStatusCode();
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return json.RootElement.EnumerateArray()
                .Select(q => new QueueFigure(
                    q.GetProperty("vhost").GetString() ?? "",
                    q.GetProperty("name").GetString() ?? "",
                    q.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt64() : 0,
                    q.TryGetProperty("consumers", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt64() : 0))
                .OrderByDescending(q => q.Messages).ThenBy(q => q.Name)
                .ToList();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return [];
        }
    }
}
