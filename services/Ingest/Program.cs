using CallLogs.Ingest.Apis;
using CallLogs.Ingest.Extensions;

var builder = WebApplication.CreateBuilder(args);
TelephonyCommandLine.Prepare(builder, args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapCallRecordsApi();
app.MapRetentionApi();
app.MapTelephonyApi();
if (TelephonyCommandLine.IsCommand(args))
{
    return await TelephonyCommandLine.RunAsync(app, args);
}

app.Run();
return 0;
