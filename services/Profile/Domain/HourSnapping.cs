namespace CallLogs.Profile.Domain;

/// <summary>Collection starts on an hour mark: the nearest one, half past rounding up (06:57 → 07:00, 06:29 → 06:00, 06:30 → 07:00).</summary>
public static class HourSnapping
{
    public static DateTimeOffset ToNearestHour(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        var hour = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
        // The last hour of the calendar has no next one to round up to.
        return utc - hour >= TimeSpan.FromMinutes(30) && hour < DateTimeOffset.MaxValue.AddHours(-1) ? hour.AddHours(1) : hour;
    }
}
