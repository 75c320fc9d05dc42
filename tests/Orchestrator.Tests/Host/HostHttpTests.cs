using System.Net;
using System.Net.Sockets;
using System.Text;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Host;

/// <summary>
/// The CLI's own HTTP client for hosts (HTTP/1.0 over a socket) against hosts that misbehave: gone, not HTTP, or
/// closing a run's events early. A real host is covered by <see cref="RemoteRunTests"/>.
/// </summary>
public sealed class HostHttpTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Script => _dir.Write("hello.csx", "return 1;");

    private string Store => Path.Combine(_dir.Path, "store");

    [Fact]
    public async Task A_named_host_that_is_not_there_is_one_line_and_exit_2()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var result = await CliRunner.RunAsync("run", Script, "--store", Store, "--host", $"http://127.0.0.1:{port}");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Should().StartWith($"orchestrator: cannot reach the host at http://127.0.0.1:{port}/:").And.NotContain("\n");
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/", "is not an http:// or https:// URL")]
    [InlineData("not a url", "is not an absolute URL")]
    public async Task A_host_url_that_is_not_http_is_bad_input(string url, string expected)
    {
        var result = await CliRunner.RunAsync("run", Script, "--store", Store, "--host", url);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain(expected);
    }

    [Fact]
    public async Task A_host_that_does_not_speak_http_is_said_so()
    {
        await using var fake = new FakeHost(_ => "SSH-2.0-OpenSSH_9.2\r\n");

        var result = await CliRunner.RunAsync("run", Script, "--store", Store, "--host", fake.Url);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain($"cannot reach the host at {fake.Url}").And.Contain("did not answer in HTTP: SSH-2.0-OpenSSH_9.2");
    }

    [Fact]
    public async Task A_host_that_closes_the_output_before_the_end_fails_the_command_and_says_where_to_look()
    {
        await using var fake = new FakeHost(_ => "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.orchestrator.console\r\n\r\nr 3\nr-1o 8\nworking\n");

        var result = await CliRunner.RunAsync("run", Script, "--store", Store, "--host", fake.Url, "--quiet");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stdout.Should().Be("working\n", "what the host rendered before it broke off is shown");
        result.Stderr.Should().Contain($"closed run r-1's output before its end; see 'orchestrator runs show r-1'");
        fake.Requests.Should().ContainSingle().Which.Should().StartWith("POST /api/console/run HTTP/1.0")
            .And.Contain("Content-Type: application/json").And.Contain("Content-Length:");
    }

    [Fact]
    public async Task A_host_of_an_earlier_version_is_named_as_such_or_left_for_an_in_process_run()
    {
        await using var fake = new FakeHost(_ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        Directory.CreateDirectory(Store);
        File.WriteAllText(Path.Combine(Store, "host.json"), $$"""{"url":"{{fake.Url}}","token":"t","pid":{{Environment.ProcessId}}}""");

        var named = await CliRunner.RunAsync("run", Script, "--store", Store, "--host", fake.Url);
        var found = await CliRunner.RunAsync("run", Script, "--store", Store, "--quiet");

        named.ExitCode.Should().Be(2, named.ToString());
        named.Stderr.Should().Contain("does not run commands for clients (an earlier orchestrator serve?)");
        found.ExitCode.Should().Be(0, found.ToString());
        found.Stdout.Trim().Should().Be("1", "a host found through host.json that cannot take the run leaves it to this process");
        fake.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task The_native_launcher_says_the_same_when_the_host_breaks_off()
    {
        await using var fake = new FakeHost(_ => "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.orchestrator.console\r\n\r\nr 3\nr-1o 8\nworking\n");

        using var launcher = OrchestratorProcess.StartLauncher(_dir.Path, "run", Script, "--store", Store, "--host", fake.Url, "--quiet");
        var result = await launcher.WaitForExitAsync();

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stdout.Should().Be("working\n");
        result.Stderr.Trim().Should().Be($"orchestrator: the host at {fake.Url} closed run r-1's output before its end; see 'orchestrator runs show r-1'");
        fake.Requests.Should().ContainSingle().Which.Should().StartWith("POST /api/console/run HTTP/1.0");
    }

    /// <summary>A TCP server on loopback that reads one request's head (and body) and writes back what it is told, then closes.</summary>
    private sealed class FakeHost : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Func<string, string> _answer;
        private readonly Task _loop;
        private readonly List<string> _requests = [];

        public FakeHost(Func<string, string> answer)
        {
            _answer = answer;
            _listener.Start();
            Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        private async Task LoopAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                using (client)
                {
                    var stream = client.GetStream();
                    var head = new StringBuilder();
                    var buffer = new byte[1];
                    while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buffer) == 1)
                    {
                        head.Append((char)buffer[0]);
                    }

                    var request = head.ToString();
                    lock (_requests)
                    {
                        _requests.Add(request);
                    }

                    await stream.WriteAsync(Encoding.UTF8.GetBytes(_answer(request)));
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop;
        }
    }
}
