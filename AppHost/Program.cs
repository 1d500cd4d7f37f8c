using CallLogs.AppHost.Infrastructure;
using CallLogs.AppHost.Operations;

var builder = DistributedApplication.CreateBuilder(args);
var servers = new Servers(builder);   // containers when an engine answers, else executables; Infrastructure:Mode forces one
var tokens = new LocalTokens(builder);
// The key secrets are sealed with (call records' by ingest, export profiles' by profile; export and stream open them):
// generated once and kept in the AppHost's user secrets, since what it sealed outlives the run; Parameters:sealing-key sets it.
var sealingKey = builder.AddParameter("sealing-key", new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);

var messaging = servers.AddRabbitMQ("messaging");
var postgres = servers.AddPostgres("postgres");
var storage = servers.AddS3("storage");

var profileDb = postgres.AddDatabase("profiledb");
var ingestDb = postgres.AddDatabase("ingestdb");
var telephonyDb = postgres.AddDatabase("telephonydb");
var exportDb = postgres.AddDatabase("exportdb");
var streamDb = postgres.AddDatabase("streamdb");
var auditDb = postgres.AddDatabase("auditdb");

var profile = builder.AddService<Projects.CallLogs_Profile>("profile", tokens)
    .WithEnvironment("Sealing__Key", sealingKey)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(profileDb).WaitFor(profileDb);

var ingest = builder.AddService<Projects.CallLogs_Ingest>("ingest", tokens)
    .WithEnvironment("Sealing__Key", sealingKey)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(ingestDb).WaitFor(ingestDb);

var telephony = builder.AddService<Projects.CallLogs_Telephony>("telephony", tokens)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(telephonyDb).WaitFor(telephonyDb)
    .WithCallLogRegenerationCommand(tokens);

var export = builder.AddService<Projects.CallLogs_Export>("export", tokens)
    .WithEnvironment("Sealing__Key", sealingKey)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(exportDb).WaitFor(exportDb)
    .WithReference(storage).WaitFor(storage)
    .WithReExportCommand(tokens);

var stream = builder.AddService<Projects.CallLogs_Stream>("stream", tokens)
    .WithEnvironment("Sealing__Key", sealingKey)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(streamDb).WaitFor(streamDb);

var audit = builder.AddService<Projects.CallLogs_Audit>("audit", tokens)
    .WithReference(messaging).WaitFor(messaging)
    .WithReference(auditDb).WaitFor(auditDb)
    .WithReference(storage).WaitFor(storage)
    .WithTrailValidationCommand(tokens);

ServiceExtensions.ConnectServices(profile, ingest, telephony, export, stream, audit);
profile.WithDemoArea(tokens, storage, profile, ingest, telephony, export, stream, audit);

builder.Build().Run();
