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
/// recognise the repeat by its message id). A row that can never be published is parked rather than
/// holding up the rows after it: at once when it does not read as a contract, and after
/// <see cref="OutboxOptions.MaxAttempts"/> failures when a row after it publishes (the broker refuses that
/// row, not everything).
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

    private static readonly System.Diagnostics.Metrics.Counter<long> Parked = Telemetry.Meter.CreateCounter<long>(
        "calllogs.outbox.parked", description: "Outbox rows the relay gave up on (see outbox_messages.parked_at); each is an event no consumer received");
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
            .FromSql($"SELECT * FROM outbox_messages WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT {options.Value.BatchSize} FOR UPDATE SKIP LOCKED")
            .ToListAsync(cancellationToken);

        var published = 0;
        var failed = false;
        OutboxMessage? refused = null; // failed MaxAttempts times: parked if a row after it publishes
        foreach (var row in rows)
        {
            try
            {
                var (type, message) = Read(row);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.Value.PublishTimeout);
                await bus.Publish(message, type, ctx => ctx.MessageId = row.MessageId, timeout.Token);
                row.PublishedAt = clock.GetUtcNow();
                published++;
                if (refused is not null)
                {
                    Park(refused);
                    refused = null;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                row.Attempts++;
                row.LastError = ex.Message.Length > 1000 ? ex.Message[..1000] : ex.Message;
                if (ex is UnreadableMessageException)
                {
                    Park(row);
                    continue;
                }

                LogPublishFailed(logger, ex, row.MessageType, row.MessageId, row.Attempts);
                if (refused is null && row.Attempts >= options.Value.MaxAttempts)
                {
                    refused = row;
                    continue;
                }

                failed = true;
                break;
            }
        }

        failed |= refused is not null; // nothing after it to tell a refusal from an outage: back off, try again
        db.Database.AutoSavepointsEnabled = false; // a failed save ends the pass: no savepoint needed (two round trips fewer)
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        return (published, failed);
    }

    /// <summary>The row's contract and message; <see cref="UnreadableMessageException"/> when it has none (a renamed contract, a body of another shape).</summary>
    private static (Type Type, object Message) Read(OutboxMessage row)
    {
        var type = ContractsAssembly.GetType(row.MessageType)
            ?? throw new UnreadableMessageException($"Outbox message type {row.MessageType} is not a contract.");
        try
        {
            return (type, JsonSerializer.Deserialize(row.Body, type, OutboxExtensions.Json)
                ?? throw new UnreadableMessageException($"The body of outbox message {row.MessageId} is null."));
        }
        catch (JsonException e)
        {
            throw new UnreadableMessageException($"The body of outbox message {row.MessageId} does not read as {row.MessageType}: {e.Message}");
        }
    }

    private void Park(OutboxMessage row)
    {
        row.ParkedAt = clock.GetUtcNow();
        Parked.Add(1, new KeyValuePair<string, object?>("message_type", row.MessageType));
        LogParked(logger, row.MessageType, row.MessageId, row.Id, typeof(TContext).Name, row.Attempts, row.LastError);
    }

    private sealed class UnreadableMessageException(string message) : Exception(message);

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

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {MessageType} {MessageId} (row {RowId} of {Database}) is parked after {Attempts} attempts and will not be published: {LastError}. Fix the cause, then set parked_at to null to publish it")]
    private static partial void LogParked(ILogger logger, string messageType, Guid messageId, long rowId, string database, int attempts, string? lastError);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox relay pass failed; retrying")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception);
}
