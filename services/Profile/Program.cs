using CallLogs.Profile.Apis;
using CallLogs.Profile.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapAreasApi();
app.MapExportProfilesApi();
app.Run();
