using Microsoft.AspNetCore.WebUtilities;

namespace CallLogs.ServiceDefaults.Audit;

/// <summary>
/// The response body as the capture sees it: a copy of its first <c>limit</c> bytes for the event, and the total size.
/// <see cref="PassThrough"/> writes on at once (reads); <see cref="Held"/> keeps everything, in memory and then in a
/// temporary file, until the change and its event are committed (changes), then <see cref="DrainAsync"/> sends it.
/// </summary>
internal sealed class ResponseCapture : Stream
{
    private readonly Stream? _inner;
    private readonly FileBufferingWriteStream? _held;
    private readonly int _limit;
    private readonly Func<bool> _shouldCopy;
    private MemoryStream? _copy;
    private bool _decided;

    private ResponseCapture(Stream? inner, FileBufferingWriteStream? held, int limit, Func<bool> shouldCopy)
    {
        _inner = inner;
        _held = held;
        _limit = limit;
        _shouldCopy = shouldCopy;
    }

    /// <summary>Writes through to <paramref name="inner"/>; copies only when <paramref name="shouldCopy"/> says so at the first write.</summary>
    public static ResponseCapture PassThrough(Stream inner, int limit, Func<bool> shouldCopy) => new(inner, null, limit, shouldCopy);

    /// <summary>Holds the whole body back and copies its beginning.</summary>
    public static ResponseCapture Held(int limit) => new(null, new FileBufferingWriteStream(), limit, () => true);

    public long TotalBytes { get; private set; }

    public byte[] Copied(out bool truncated)
    {
        truncated = TotalBytes > _limit;
        return _copy?.ToArray() ?? [];
    }

    /// <summary>Sends what was held to <paramref name="destination"/>.</summary>
    public Task DrainAsync(Stream destination, CancellationToken cancellationToken) =>
        _held!.DrainBufferAsync(destination, cancellationToken);

    private void Keep(ReadOnlySpan<byte> data)
    {
        if (!_decided)
        {
            _decided = true;
            _copy = _shouldCopy() ? new MemoryStream() : null;
        }

        TotalBytes += data.Length;
        if (_copy is not null && _copy.Length < _limit)
        {
            _copy.Write(data[..(int)Math.Min(data.Length, _limit - _copy.Length)]);
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Keep(buffer.AsSpan(offset, count));
        (_inner ?? _held)!.Write(buffer, offset, count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        await (_inner ?? _held)!.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // A held body is not sent on a flush: it waits for the commit.
    public override void Flush() => _inner?.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner?.FlushAsync(cancellationToken) ?? Task.CompletedTask;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _held?.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_held is not null)
        {
            await _held.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}
