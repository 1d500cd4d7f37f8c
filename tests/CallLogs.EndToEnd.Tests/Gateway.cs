using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallLogs.ServiceDefaults.Auth;

namespace CallLogs.EndToEnd.Tests;

/// <summary>
/// A gateway as real ones behave: batches of new records, each sent until it is answered 200; a 503 or 429 is
/// retried after Retry-After, a timeout or a broken connection after a second, always with the same batch (ingest
/// is idempotent by request_uuid). A new connection per request, so the batches spread over both ingest instances.
/// </summary>
public sealed class Gateway(AspireSystem system, Guid area, DateTimeOffset hour)
{
    private const int BatchSize = 25;
    private readonly string _token = system.Tokens.Issue(Roles.Ingest, area, "e2e-gateway", lifetime: TimeSpan.FromHours(2));
    private readonly ConcurrentQueue<(DateTimeOffset Sent, DateTimeOffset Answered)> _acceptedBatches = new();
    private int _sequence;
    private int _inFlight;
    private int _retries;

    public ConcurrentDictionary<string, byte> Posted { get; } = new();

    /// <summary>The records answered 200, with the time of the answer.</summary>
    public ConcurrentDictionary<string, DateTimeOffset> Accepted { get; } = new();

    public ConcurrentQueue<string> Refusals { get; } = new();

    /// <summary>Why batches were answered 503, 502 or 429 (status and the problem's title), with how often.</summary>
    public ConcurrentDictionary<string, int> Deferrals { get; } = new();

    public int AcceptedBatches => _acceptedBatches.Count;

    public int InFlight => Volatile.Read(ref _inFlight);

    public string Summary => $"gateway: {Posted.Count} posted, {Accepted.Count} accepted in {AcceptedBatches} batches, {Volatile.Read(ref _retries)} retries" +
        (Deferrals.IsEmpty ? "" : $" ({string.Join("; ", Deferrals.Select(d => $"{d.Value} x {d.Key}"))})");

    public DateTimeOffset? FirstAcceptedSentAfter(DateTimeOffset time) =>
        _acceptedBatches.Where(b => b.Sent >= time).Select(b => (DateTimeOffset?)b.Answered).Min();

    public async Task RunAsync(CancellationToken stop)
    {
        using var http = system.Client("ingest", _token);
        http.Timeout = TimeSpan.FromSeconds(15);
        while (!stop.IsCancellationRequested)
        {
            var batch = Enumerable.Range(0, BatchSize).Select(_ =>
            {
                var record = CallLogsClient.Record(hour.AddSeconds(Interlocked.Increment(ref _sequence) % 3600));
                Posted[(string)record["request_uuid"]] = 0;
                return record;
            }).ToList();
            await SendUntilAcceptedAsync(http, batch);
            await Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None); // a gateway's pace, not synchronisation
        }
    }

    private async Task SendUntilAcceptedAsync(HttpClient http, List<Dictionary<string, object>> batch)
    {
        var giveUp = DateTimeOffset.UtcNow.AddMinutes(3);
        while (DateTimeOffset.UtcNow < giveUp)
        {
            var sent = DateTimeOffset.UtcNow;
            TimeSpan wait;
            Interlocked.Increment(ref _inFlight);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/areas/{area}/call-records") { Content = JsonContent.Create(batch) };
                request.Headers.ConnectionClose = true;
                using var response = await http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var answered = DateTimeOffset.UtcNow;
                    foreach (var record in batch)
                    {
                        Accepted.TryAdd((string)record["request_uuid"], answered);
                    }

                    _acceptedBatches.Enqueue((sent, answered));
                    return;
                }

                if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway))
                {
                    Refusals.Enqueue($"{sent:HH:mm:ss.fff} {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    return;
                }

                wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                var deferral = $"{(int)response.StatusCode} {Title(await response.Content.ReadAsStringAsync())}";
                Deferrals.AddOrUpdate(deferral, 1, (_, n) => n + 1);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                wait = TimeSpan.FromSeconds(1); // timeout, refused or broken connection: the batch may or may not have been taken
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }

            Interlocked.Increment(ref _retries);
            await Task.Delay(wait, CancellationToken.None);
        }

        Refusals.Enqueue($"a batch of {batch.Count} records not accepted within 3 minutes of retries");
    }

    private static string Title(string problem)
    {
        try
        {
            using var json = JsonDocument.Parse(problem);
            return json.RootElement.TryGetProperty("title", out var title) ? title.GetString() ?? "" : "";
        }
        catch (JsonException)
        {
            return problem[..Math.Min(problem.Length, 80)];
        }
    }
}
