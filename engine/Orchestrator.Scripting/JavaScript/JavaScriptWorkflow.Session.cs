using System.Security.Cryptography;
using System.Text;
using Jint;
using Serilog;

namespace Orchestrator.Scripting.JavaScript;

internal sealed partial class JavaScriptWorkflow
{
    /// <summary>The global a REPL session's script waits on; the session's submissions run while it does.</summary>
    internal const string SessionFunction = "__orchestratorSession";

    /// <summary>The suffix that closes <see cref="Prefix"/>'s function and calls it.</summary>
    internal static string Wrap(string body) => Prefix + body + Suffix;

    /// <summary>A REPL session: a script that waits until the session ends, named <paramref name="name"/> in messages.</summary>
    public static JavaScriptWorkflow ForSession(string name, JavaScriptOptions options, ILogger log)
    {
        options.Validate();
        var source = $"return await {SessionFunction}();";
        var prepared = Engine.PrepareScript(Wrap(source), name);
        return new JavaScriptWorkflow(name, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source))), prepared, 1, options, log);
    }
}
