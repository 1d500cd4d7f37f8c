using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Amazon.S3.Model;
using CallLogs.ServiceDefaults.Auth;
using CallLogs.ServiceDefaults.Storage;
using CallLogs.Testing;

namespace CallLogs.EndToEnd.Tests;

/// <summary>The five services as real processes, over the real RabbitMQ, PostgreSQL and S3.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class RunningSystemTests(Infrastructure infra) : IAsyncLifetime
{
    private RunningSystem _system = null!;

    public async Task InitializeAsync() => _system = await RunningSystem.StartAsync(infra);

    public async Task DisposeAsync() => await _system.DisposeAsync();

    [Fact]
    public async Task Every_service_answers_healthy_on_health_and_alive()
    {
        using var http = new HttpClient();
        foreach (var service in _system.Services)
        {
            using var health = await http.GetAsync(new Uri(service.Url, "/health"));
            using var alive = await http.GetAsync(new Uri(service.Url, "/alive"));
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            Assert.Contains("\"Healthy\"", await health.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_call_record_sent_to_ingest_reaches_export_and_stream_over_rabbitmq()
    {
        var area = Guid.NewGuid();
        using var http = new HttpClient();
        var token = infra.Tokens.Issue(Roles.Ingest, area, "gateway-1");
        var before = (Export: await ReceivedAsync("Export", "calllogs_export_records_received"), Stream: await ReceivedAsync("Stream", "calllogs_stream_records_received"));

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_system.Url("Ingest"), $"/api/areas/{area}/call-records"))
        {
            Content = JsonContent.Create(new[]
            {
                new Dictionary<string, object>
                {
                    ["request_uuid"] = Guid.NewGuid().ToString(),
                    ["request_time"] = DateTimeOffset.UtcNow.ToString("O"),
                    ["http_status_code"] = 200,
                    ["api_key"] = "key-1",
                },
            }),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        await Eventually.Until(async () => await ReceivedAsync("Export", "calllogs_export_records_received") >= before.Export + 1,
            TimeSpan.FromSeconds(30), "export received the record");
        await Eventually.Until(async () => await ReceivedAsync("Stream", "calllogs_stream_records_received") >= before.Stream + 1,
            TimeSpan.FromSeconds(30), "stream received the record");
    }

    [Fact]
    public async Task An_object_written_with_the_services_s3_settings_reads_back_byte_equal()
    {
        var bucket = await infra.NewBucketAsync();
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        using var s3 = S3Settings.Parse(infra.S3ConnectionString).CreateClient();

        using (var body = new MemoryStream(content))
        {
            await s3.PutObjectAsync(S3Uploads.Put(bucket, "e2e/object.bin", body, "application/octet-stream"));
        }

        using var read = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "e2e/object.bin" });
        using var copy = new MemoryStream();
        await read.ResponseStream.CopyToAsync(copy);
        Assert.Equal(content.Length, copy.Length);
        Assert.True(content.AsSpan().SequenceEqual(copy.ToArray()), "the object read back differs from what was written");
    }

    /// <summary>The value of a counter on the service's Prometheus endpoint (0 before the first record).</summary>
    private async Task<double> ReceivedAsync(string service, string metric)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(_system.Url(service), "/metrics"));
        return text.Split('\n')
            .Where(l => l.StartsWith(metric, StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .Sum();
    }
}
