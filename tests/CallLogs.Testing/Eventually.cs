namespace CallLogs.Testing;

/// <summary>Waits on a condition with a bound, instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static async Task Until(Func<Task<bool>> condition, TimeSpan? timeout = null, string? because = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        var delay = TimeSpan.FromMilliseconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Condition not met within {limit}{(because is null ? "" : $": {because}")}.");
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    public static Task Until(Func<bool> condition, TimeSpan? timeout = null, string? because = null) =>
        Until(() => Task.FromResult(condition()), timeout, because);

    /// <summary>Waits until <paramref name="read"/> gives a value that passes <paramref name="accept"/>, and returns it.</summary>
    public static async Task<T> Get<T>(Func<Task<T>> read, Func<T, bool> accept, TimeSpan? timeout = null, string? because = null)
    {
        T value = default!;
        await Until(async () => accept(value = await read()), timeout, because);
        return value;
    }
}
