using System.Text.Json;
using CallLogs.Contracts;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CallLogs.ServiceDefaults.Outbox;

/// <summary>
/// Publishes outbox rows in id order and marks them published. Rows are claimed with
/// <c>FOR UPDATE SKIP LOCKED</c>, so several instances never publish the same row at once. A row whose
/// publish fails stays unpublished and is retried with backoff; rows published before the failure are
/// marked, so the broker sees each event once unless a crash falls between publish and mark (consumers
/// recognise the repeat by its message id).
/// </summary>
internal sealed partial class OutboxRelay<TContext>(
    IServiceScopeFactory scopes,
    IBus bus,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    TimeProvider clock,
    ILogger<OutboxRelay<TContext>> logger) : BackgroundService where TContext : DbContext
{
    private static readonly System.Reflection.Assembly ContractsAssembly = typeof(AreaCreated).Assembly;
    private DateTimeOffset _nextCleanup;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (published, failed) = await PublishBatchAsync(stoppingToken);
                if (failed)
                {
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                    await Task.Delay(backoff, clock, stoppingToken);
                    continue;
                }

                backoff = TimeSpan.Zero;
                if (published < options.Value.BatchSize)
                {
                    await CleanupAsync(stoppingToken);
                    await signal.WaitAsync(options.Value.PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogRelayFailed(logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<(int Published, bool Failed)> PublishBatchAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        var rows = await db.Set<OutboxMessage>()
            .FromSql($"SELECT * FROM outbox_messages WHERE published_at IS NULL ORDER BY id LIMIT {options.Value.BatchSize} FOR UPDATE SKIP LOCKED")
            .ToListAsync(cancellationToken);

        var published = 0;
        var failed = false;
        foreach (var row in rows)
        {
            try
            {
                var type = ContractsAssembly.GetType(row.MessageType)
                    ?? throw new InvalidOperationException($"Outbox message type {row.MessageType} is not a contract.");
                var message = JsonSerializer.Deserialize(row.Body, type, OutboxExtensions.Json)!;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.Value.PublishTimeout);
                await bus.Publish(message, type, ctx => ctx.MessageId = row.MessageId, timeout.Token);
                row.PublishedAt = clock.GetUtcNow();
                published++;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                row.Attempts++;
                row.LastError = ex.Message.Length > 1000 ? ex.Message[..1000] : ex.Message;
                LogPublishFailed(logger, ex, row.MessageType, row.MessageId, row.Attempts);
                failed = true;
                break;
            }
        }

        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        return (published, failed);
    }

    private async Task CleanupAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (now < _nextCleanup)
        {
            return;
        }

        _nextCleanup = now.AddHours(1);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var before = now - options.Value.KeepPublished;
        await db.Set<OutboxMessage>().Where(m => m.PublishedAt != null && m.PublishedAt < before).ExecuteDeleteAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox publish of {MessageType} {MessageId} failed (attempt {Attempts}); it stays in the outbox and is retried")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string messageType, Guid messageId, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox relay pass failed; retrying")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception);
}
