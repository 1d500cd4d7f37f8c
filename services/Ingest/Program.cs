using CallLogs.Ingest.Apis;
using CallLogs.Ingest.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapCallRecordsApi();
app.MapRetentionApi();
app.Run();
