using CallLogs.Audit.Apis;
using CallLogs.Audit.Delivery;
using CallLogs.Audit.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
if (ValidateTrailCommand.IsRequested(args))
{
    return await ValidateTrailCommand.RunAsync(app.Services, args, Console.Out, TimeProvider.System);
}

app.MapDefaultEndpoints();
app.MapAuditApi();
app.MapAreaTrailApi();
app.MapAuditOperationsApi();
app.Run();
return 0;
