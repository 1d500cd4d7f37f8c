using CallLogs.Testing;

namespace CallLogs.HostileInput.Tests;

/// <summary>Integration tests of this assembly share one set of real servers (RabbitMQ, PostgreSQL, S3).</summary>
[CollectionDefinition(Name)]
public sealed class InfrastructureCollection : ICollectionFixture<Infrastructure>
{
    public const string Name = "infrastructure";
}
