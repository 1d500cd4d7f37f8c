using System.Net;
using System.Text;
using System.Net.Sockets;

namespace CallLogs.Testing;

/// <summary>
/// Stands in for AWS STS (there is none on loopback): records each AssumeRole call and hands out the local S3 server's
/// own key pair with a session token, so what follows (an upload, a delivery) is signed with the assumed credentials.
/// </summary>
public sealed class FakeSts : IAsyncDisposable
{
    public const string SessionToken = "session-token-from-assume-role";
    private readonly HttpListener _listener = new();
    private readonly List<string> _requests = [];

    public string Url { get; private set; } = "";

    public IReadOnlyList<string> Requests
    {
        get { lock (_requests) { return [.. _requests]; } }
    }

    public static FakeSts Start()
    {
        var sts = new FakeSts();
        using (var free = new TcpListener(IPAddress.Loopback, 0))
        {
            free.Start();
            sts.Url = $"http://127.0.0.1:{((IPEndPoint)free.LocalEndpoint).Port}/";
        }

        sts._listener.Prefixes.Add(sts.Url);
        sts._listener.Start();
        _ = sts.ServeAsync();
        return sts;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using (var reader = new StreamReader(context.Request.InputStream))
            {
                var body = await reader.ReadToEndAsync();
                lock (_requests)
                {
                    _requests.Add(body);
                }
            }

            var response = Encoding.UTF8.GetBytes($"""
                <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                  <AssumeRoleResult>
                    <Credentials>
                      <AccessKeyId>S3RVER</AccessKeyId>
                      <SecretAccessKey>S3RVER</SecretAccessKey>
                      <SessionToken>{SessionToken}</SessionToken>
                      <Expiration>{DateTime.UtcNow.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}</Expiration>
                    </Credentials>
                    <AssumedRoleUser>
                      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:calllogs</AssumedRoleId>
                      <Arn>arn:aws:sts::123456789012:assumed-role/calllogs/calllogs</Arn>
                    </AssumedRoleUser>
                  </AssumeRoleResult>
                  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
                </AssumeRoleResponse>
                """);
            context.Response.ContentType = "text/xml";
            await context.Response.OutputStream.WriteAsync(response);
            context.Response.Close();
        }
    }

    public ValueTask DisposeAsync()
    {
        _listener.Close();
        return ValueTask.CompletedTask;
    }
}
