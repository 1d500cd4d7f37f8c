using System.Collections.Concurrent;
using CallLogs.Contracts;
using CallLogs.ServiceDefaults.Messaging;
using CallLogs.ServiceDefaults.Outbox;
using CallLogs.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace CallLogs.ServiceDefaults.Tests;

/// <summary>The transactional outbox against the real PostgreSQL and RabbitMQ: events survive a broker outage, once each.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class OutboxTests(Infrastructure infra)
{
    [Fact]
    public async Task An_event_saved_while_the_broker_is_down_is_published_once_it_is_back()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        await using var proxy = await TcpProxy.StartAsync(new Uri(vhost));
        var received = new ConcurrentBag<(Guid? MessageId, AreaCreated Message)>();
        var database = await infra.NewDatabaseAsync();
        using var host = await StartHostAsync(ThroughProxy(vhost, proxy.Port), database, received);

        proxy.Pause();
        var area = Guid.NewGuid();
        await SaveAsync(host, new AreaCreated { AreaId = area, Name = "while down", CreatedAt = DateTimeOffset.UtcNow });
        Assert.Equal(1, await UnpublishedAsync(database));
        await Eventually.Until(async () => await ScalarAsync(database, "SELECT coalesce(max(attempts), 0) FROM outbox_messages") >= 1,
            TimeSpan.FromSeconds(60), "the relay tried to publish and failed while the broker was unreachable");

        proxy.Resume();

        await Eventually.Until(() => received.Any(r => r.Message.AreaId == area), TimeSpan.FromSeconds(90), "the event arrives after the broker is back");
        await Eventually.Until(async () => await UnpublishedAsync(database) == 0, TimeSpan.FromSeconds(30), "the row is marked published");
        Assert.Single(received, r => r.Message.AreaId == area);
    }

    [Fact]
    public async Task Two_relays_on_one_database_publish_every_event_exactly_once()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        var database = await infra.NewDatabaseAsync();
        var received = new ConcurrentBag<(Guid? MessageId, AreaCreated Message)>();
        using var first = await StartHostAsync(vhost, database, received);
        using var second = await StartHostAsync(vhost, database, new ConcurrentBag<(Guid? MessageId, AreaCreated Message)>(), consume: false);

        var areas = Enumerable.Range(0, 200).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(areas.Chunk(20).Select((chunk, i) => SaveAsync(i % 2 == 0 ? first : second,
            chunk.Select(a => new AreaCreated { AreaId = a, Name = a.ToString(), CreatedAt = DateTimeOffset.UtcNow }).ToArray())));

        await Eventually.Until(() => received.Select(r => r.Message.AreaId).Distinct().Count() == areas.Count, TimeSpan.FromSeconds(60));
        await Eventually.Until(async () => await UnpublishedAsync(database) == 0, TimeSpan.FromSeconds(30));
        Assert.Equal(areas.Count, received.Count);
        Assert.Equal(areas.Count, received.Select(r => r.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task An_event_saved_inside_a_transaction_leaves_when_the_transaction_commits_not_at_the_next_poll()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        var database = await infra.NewDatabaseAsync();
        var received = new ConcurrentBag<(Guid? MessageId, AreaCreated Message)>();
        // A poll this rare never comes within the test: only the wake-up after the commit can publish the event.
        using var host = await StartHostAsync(vhost, database, received, pollInterval: "00:10:00");
        var area = Guid.NewGuid();

        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<TestDbContext>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.AddOutboxMessage(new AreaCreated { AreaId = area, Name = "in a transaction", CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(500)); // more work of the same transaction; a relay woken now finds nothing
            await transaction.CommitAsync();
        }

        await Eventually.Until(() => received.Any(r => r.Message.AreaId == area), TimeSpan.FromSeconds(60), "the event leaves after the commit");
    }

    private static string ThroughProxy(string amqp, int port) => new UriBuilder(amqp) { Port = port }.Uri.ToString();

    private static async Task<IHost> StartHostAsync(string messaging, string database, ConcurrentBag<(Guid?, AreaCreated)> received, bool consume = true,
        string pollInterval = "00:00:00.200")
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["ConnectionStrings:messaging"] = messaging;
        builder.Configuration["OTEL_SERVICE_NAME"] = consume ? "outbox-test" : $"outbox-test-{Guid.NewGuid():N}";
        builder.Configuration["Outbox:PollInterval"] = pollInterval;
        builder.Configuration["Outbox:PublishTimeout"] = "00:00:02";
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(received);
        builder.Services.AddDbContext<TestDbContext>((sp, o) => o.UseNpgsql(database).UseSnakeCaseNamingConvention()
            .AddInterceptors(new OutboxSaveChangesInterceptor(sp.GetRequiredService<OutboxSignal>())));
        builder.AddOutbox<TestDbContext>();
        builder.AddMessaging(bus =>
        {
            if (consume)
            {
                bus.AddConsumer<AreaCreatedRecorder>();
            }
        });

        var host = builder.Build();
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<TestDbContext>();
            try
            {
                await db.Database.EnsureCreatedAsync();
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
            {
                // The other host of the same test created it at the same moment.
            }
        }

        await host.StartAsync();
        return host;
    }

    private static async Task SaveAsync(IHost host, params AreaCreated[] messages)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TestDbContext>();
        foreach (var message in messages)
        {
            db.AddOutboxMessage(message);
        }

        await db.SaveChangesAsync();
    }

    private static Task<int> UnpublishedAsync(string database) =>
        ScalarAsync(database, "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL");

    private static async Task<int> ScalarAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync());
    }

    public sealed class TestDbContext(DbContextOptions<TestDbContext> options) : DbContext(options)
    {
        protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.AddOutboxMessageEntity();
    }

    public sealed class AreaCreatedRecorder(ConcurrentBag<(Guid?, AreaCreated)> received) : IConsumer<AreaCreated>
    {
        public Task Consume(ConsumeContext<AreaCreated> context)
        {
            received.Add((context.MessageId, context.Message));
            return Task.CompletedTask;
        }
    }
}
