using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Orchestrator.Cli.Host.Dashboard;

/// <summary>
/// The web dashboard's files (HTML, CSS, JavaScript modules), embedded in this assembly and served from memory at
/// <c>/</c> and <c>/ui/*</c>. They hold no data: everything the page shows it reads from the API, which needs the
/// token, so they are served without it; the page asks for the token when the API answers 401.
/// </summary>
internal sealed class DashboardAssets
{
    private const string ResourcePrefix = "dashboard/";

    /// <summary>Scripts and styles only from this host; no framing, no forms posting elsewhere, no base URL games.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; " +
        "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly FrozenDictionary<string, Asset> _assets;

    private DashboardAssets(FrozenDictionary<string, Asset> assets) => _assets = assets;

    /// <summary>The request paths served, <c>/</c> for the page itself.</summary>
    public IEnumerable<string> Paths => _assets.Keys;

    /// <summary>Reads every embedded dashboard file once.</summary>
    public static DashboardAssets Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var file = name[ResourcePrefix.Length..];
            var bytes = buffer.ToArray();
            var asset = new Asset(bytes, ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream"), $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
            assets[file == "index.html" ? "/" : "/ui/" + file] = asset;
        }

        return new DashboardAssets(assets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Serves a dashboard file for a GET or HEAD of its path; false for anything else.</summary>
    public bool TryServe(HttpContext context, out Task served)
    {
        served = Task.CompletedTask;
        var request = context.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) || !_assets.TryGetValue(request.Path.Value ?? "", out var asset))
        {
            return false;
        }

        var response = context.Response;
        var headers = response.Headers;
        headers.ContentType = asset.ContentType;
        headers.ETag = asset.ETag;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        if (request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return true;
        }

        response.ContentLength = asset.Bytes.Length;
        if (HttpMethods.IsGet(request.Method))
        {
            served = response.Body.WriteAsync(asset.Bytes, context.RequestAborted).AsTask();
        }

        return true;
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
