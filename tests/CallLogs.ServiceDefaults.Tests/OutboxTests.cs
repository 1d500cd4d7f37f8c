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
    public async Task Events_saved_while_the_broker_is_down_are_published_once_it_is_back_and_none_is_parked()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        await using var proxy = await TcpProxy.StartAsync(new Uri(vhost));
        var received = new ConcurrentBag<(Guid? MessageId, AreaCreated Message)>();
        var database = await infra.NewDatabaseAsync();
        // One failed attempt would be enough to park a row the broker refuses; in an outage no row after it publishes either.
        using var host = await StartHostAsync(ThroughProxy(vhost, proxy.Port), database, received, maxAttempts: 1);

        proxy.Pause();
        var areas = new[] { Guid.NewGuid(), Guid.NewGuid() };
        foreach (var area in areas)
        {
            await SaveAsync(host, new AreaCreated { AreaId = area, Name = "while down", CreatedAt = DateTimeOffset.UtcNow });
        }

        Assert.Equal(2, await UnpublishedAsync(database));
        await Eventually.Until(async () => await Sql.CountAsync(database, "SELECT coalesce(max(attempts), 0) FROM outbox_messages") >= 2,
            TimeSpan.FromSeconds(60), "the relay tried to publish and failed while the broker was unreachable");

        proxy.Resume();

        await Eventually.Until(() => areas.All(a => received.Any(r => r.Message.AreaId == a)), TimeSpan.FromSeconds(90), "the events arrive after the broker is back");
        await Eventually.Until(async () => await UnpublishedAsync(database) == 0, TimeSpan.FromSeconds(30), "the rows are marked published");
        Assert.All(areas, a => Assert.Single(received, r => r.Message.AreaId == a));
        Assert.Equal(0, await Sql.CountAsync(database, "SELECT count(*) FROM outbox_messages WHERE parked_at IS NOT NULL"));
    }

    [Fact]
    public async Task Rows_that_read_as_no_contract_are_parked_at_once_and_do_not_hold_up_the_rows_after_them()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        var database = await infra.NewDatabaseAsync();
        var received = new ConcurrentBag<(Guid? MessageId, AreaCreated Message)>();
        using var host = await StartHostAsync(vhost, database, received);
        var area = Guid.NewGuid();

        await SaveRowAsync(host, "CallLogs.Contracts.AreaRetitled", """{"areaId":"00000000-0000-0000-0000-000000000001"}"""); // a renamed contract
        await SaveRowAsync(host, typeof(AreaCreated).FullName!, """{"name":"no id, no time"}"""); // a body of another shape
        await SaveAsync(host, new AreaCreated { AreaId = area, Name = "after them", CreatedAt = DateTimeOffset.UtcNow });

        await Eventually.Until(() => received.Any(r => r.Message.AreaId == area), TimeSpan.FromSeconds(60), "the good row after the unreadable ones is published");
        await Eventually.Until(async () => await Sql.CountAsync(database, "SELECT count(*) FROM outbox_messages WHERE parked_at IS NOT NULL AND published_at IS NULL AND last_error IS NOT NULL") == 2,
            TimeSpan.FromSeconds(30), "both unreadable rows are parked with their reason");
        Assert.Equal(0, await UnpublishedAsync(database));
    }

    [Fact]
    public async Task A_row_the_broker_keeps_refusing_is_parked_after_its_attempts_once_a_row_after_it_publishes()
    {
        var vhost = await infra.NewRabbitMqVirtualHostAsync();
        // The broker refuses every publish of AreaRenamed: its exchange exists with another type than MassTransit declares.
        await DeclareExchangeAsync(vhost, "CallLogs.Contracts:AreaRenamed", "direct");
        var database = await infra.NewDatabaseAsync();
        var received = new ConcurrentBag<(Guid? MessageId, AreaCreated Message)>();
        using var host = await StartHostAsync(vhost, database, received, maxAttempts: 2);
        var area = Guid.NewGuid();

        await SaveRowAsync(host, typeof(AreaRenamed).FullName!, System.Text.Json.JsonSerializer.Serialize(
            new AreaRenamed { AreaId = area, Name = "refused", UpdatedAt = DateTimeOffset.UtcNow }, System.Text.Json.JsonSerializerOptions.Web));
        await SaveAsync(host, new AreaCreated { AreaId = area, Name = "after it", CreatedAt = DateTimeOffset.UtcNow });

        await Eventually.Until(() => received.Any(r => r.Message.AreaId == area), TimeSpan.FromSeconds(90), "the row after the refused one is published");
        await Eventually.Until(async () => await Sql.CountAsync(database, "SELECT count(*) FROM outbox_messages WHERE parked_at IS NOT NULL AND attempts >= 2") == 1,
            TimeSpan.FromSeconds(30), "the refused row is parked after its two attempts");
        Assert.Equal(0, await UnpublishedAsync(database));
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
        string pollInterval = "00:00:00.200", int maxAttempts = 10)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["ConnectionStrings:messaging"] = messaging;
        builder.Configuration["OTEL_SERVICE_NAME"] = consume ? "outbox-test" : $"outbox-test-{Guid.NewGuid():N}";
        builder.Configuration["Outbox:PollInterval"] = pollInterval;
        builder.Configuration["Outbox:PublishTimeout"] = "00:00:02";
        builder.Configuration["Outbox:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
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

    /// <summary>An outbox row as an older or broken version of a service may have left it.</summary>
    private static async Task SaveRowAsync(IHost host, string messageType, string body)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TestDbContext>();
        db.Set<OutboxMessage>().Add(new OutboxMessage { MessageId = Guid.NewGuid(), MessageType = messageType, Body = body, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
    }

    private async Task DeclareExchangeAsync(string amqpVirtualHost, string exchange, string type)
    {
        using var management = infra.CreateManagementClient();
        using var declared = await management.PutAsync($"api/exchanges/{Infrastructure.VirtualHostOf(amqpVirtualHost)}/{Uri.EscapeDataString(exchange)}",
            new StringContent($$"""{"type":"{{type}}","durable":true}""", System.Text.Encoding.UTF8, "application/json"));
        declared.EnsureSuccessStatusCode();
    }

    /// <summary>Rows neither published nor parked.</summary>
    private static Task<long> UnpublishedAsync(string database) =>
        Sql.CountAsync(database, "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL AND parked_at IS NULL");

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
