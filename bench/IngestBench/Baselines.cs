using CallLogs.Contracts;
using CallLogs.Ingest.Data;
using CallLogs.Testing;
using Npgsql;
using RabbitMQ.Client;

namespace CallLogs.Bench.Ingest;

internal static class Baselines
{
    /// <summary>The same records written with binary COPY into a table of the call_records columns, their JSON as ingest writes it.</summary>
    public static async Task<double> CopyAsync(Infrastructure infra, Guid area, List<List<CallRecord>> batches)
    {
        using var json = new FlatJsonWriter();
        return await CopyBaseline.CallRecordsPerSecondAsync(infra, area, batches, json.Write);
    }

    public static async Task<long> CountAsync(string connectionString, Guid area)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM call_records WHERE area_id = @area", connection);
        count.Parameters.AddWithValue("area", area);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}

internal static class Records
{
    private static readonly string[] Services = ["Weather API", "Maps API", "Payments API"];

    public static CallRecord Make(DateTimeOffset now, int batch, int index) => new()
    {
        RequestUuid = Guid.NewGuid().ToString(),
        RequestId = $"{now.ToUnixTimeSeconds()}.{index:000}__key{index % 50}",
        RequestTime = now.AddSeconds(-(batch * 1000 + index) % 3600),
        ApiKey = $"key-{index % 50:000}-abcdefghijklmnop",
        OauthAccessToken = "-",
        ApiMethodName = "getForecast",
        ServiceId = $"svc-{index % 3}",
        ServiceName = Services[index % 3],
        EndpointName = "forecast",
        HttpMethod = "GET",
        HttpVersion = "HTTP/1.1",
        HttpStatusCode = index % 20 == 0 ? 500 : 200,
        ResponseString = index % 20 == 0 ? "500_Internal_Server_Error" : "200_OK_API",
        TrafficManager = "tm-1.example.net",
        TrafficManagerErrorCode = "-",
        SrcIp = $"10.0.{index % 256}.{batch % 256}",
        UserAgent = "bench/1.0",
        Referrer = "-",
        RequestHostName = "api.example.net",
        Uri = "/v1/forecast?city=Lyon",
        Bytes = 512 + index,
        CacheHit = false,
        SslEnabled = true,
        ConnectTime = 0.001,
        PreTransferTime = 0.002,
        RemoteTotalTime = 0.05,
        ClientTransferTime = 0.001,
        TotalRequestExecTime = 0.055,
        QpsThrottleValue = 10,
        QuotaValue = 1000,
    };
}

/// <summary>A durable queue bound to the batch messages' exchange, as the export and stream services' queues are.</summary>
internal sealed class Downstream(IConnection connection, IChannel channel) : IAsyncDisposable
{
    private const string Queue = "bench-downstream";

    public static async Task<Downstream> BindAsync(Uri vhost)
    {
        var connection = await new ConnectionFactory { Uri = vhost }.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        var exchange = $"{typeof(CallRecordsIngested).Namespace}:{nameof(CallRecordsIngested)}";
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(Queue, exchange, "");
        return new Downstream(connection, channel);
    }

    public Task<uint> MessageCountAsync() => channel.MessageCountAsync(Queue);

    public async ValueTask DisposeAsync()
    {
        await channel.DisposeAsync();
        await connection.DisposeAsync();
    }
}
