using Amazon.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CallLogs.ServiceDefaults.Storage;

public static class StorageExtensions
{
    /// <summary>The S3 client of <c>ConnectionStrings__storage</c>, configured by <see cref="S3Settings"/>.</summary>
    public static IHostApplicationBuilder AddS3Storage(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(S3Settings.ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{S3Settings.ConnectionName} is not set. Set ConnectionStrings__{S3Settings.ConnectionName}, e.g. Endpoint=http://127.0.0.1:4568;AccessKey=...;SecretKey=...;Region=us-east-1 (AppHost sets it for local runs).");
        }

        var settings = S3Settings.Parse(connectionString);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<IAmazonS3>(_ => settings.CreateClient());
        return builder;
    }
}
