using CallLogs.Export.Apis;
using CallLogs.Export.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapExportStatusApi();
app.MapReExportApi();
app.Run();
