using CallLogs.Telephony.Apis;
using CallLogs.Telephony.Extensions;

var builder = WebApplication.CreateBuilder(args);
TelephonyCommandLine.Prepare(builder, args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapCelApi();
app.MapDirectoryApi();
app.MapCallLogsApi();
app.MapOperationsApi();
if (TelephonyCommandLine.IsCommand(args))
{
    return await TelephonyCommandLine.RunAsync(app, args);
}

app.Run();
return 0;
