using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Cli.Host;

/// <summary>
/// <c>host.json</c> in the store folder: where a running host listens and the token its API wants, for the CLI to
/// find. Written readable by its owner only, since the token is the key to the host; removed when the host stops.
/// </summary>
internal sealed record HostFile(
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("pid")] int Pid)
{
    public const string FileName = "host.json";

    public static string PathIn(string storeDirectory) => Path.Combine(storeDirectory, FileName);

    public void Write(string storeDirectory)
    {
        var path = PathIn(storeDirectory);
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, this, HostFileJson.Default.HostFile);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The host file of a store, or null when there is none or it cannot be read.</summary>
    public static HostFile? Read(string storeDirectory)
    {
        try
        {
            // From bytes, not a stream: the stream reader's machinery costs a run's start more than the file does.
            return JsonSerializer.Deserialize(File.ReadAllBytes(PathIn(storeDirectory)), HostFileJson.Default.HostFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Removes the store's host file if it is still this process's (a later host may have replaced it).</summary>
    public static void RemoveIfOurs(string storeDirectory)
    {
        if (Read(storeDirectory) is { } file && file.Pid == Environment.ProcessId)
        {
            File.Delete(PathIn(storeDirectory));
        }
    }
}

/// <summary>Generated (de)serialization: <c>run</c> reads the host file on every start, and reflection costs it tens of milliseconds.</summary>
[JsonSerializable(typeof(HostFile))]
internal sealed partial class HostFileJson : JsonSerializerContext;
