using System.Text.Json.Nodes;
using Jint;
using Jint.Native;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// External systems in JavaScript: <c>await connector("billing").get("/invoices")</c>, <c>.post(path, body)</c>,
/// <c>.call(request)</c>, <c>.run(...args)</c>, <c>.health()</c>, and <c>defineConnector(name, spec)</c>.
/// The last argument of get/post/put/delete/call may name the step.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private JsValue DefineConnector(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "defineConnector(name, spec)";
        var name = RequireName(arguments, 0, usage, "name");
        try
        {
            _root.DefineConnector(name, ToJsonArgument(Arg(arguments, 1), usage, "spec"));
        }
        catch (ArgumentException ex)
        {
            throw TypeError($"{usage}: {ex.Message}");
        }

        return JsValue.Undefined;
    }

    private JsValue Connector(JsValue thisValue, JsValue[] arguments)
    {
        var name = RequireName(arguments, 0, "connector(name)", "name");
        var handle = new JsObject(Js);
        handle.Set("name", name);
        handle.Set("get", Function("get", (_, args) => ConnectorHttp(name, "GET", args, hasBody: false), 2));
        handle.Set("delete", Function("delete", (_, args) => ConnectorHttp(name, "DELETE", args, hasBody: false), 2));
        handle.Set("post", Function("post", (_, args) => ConnectorHttp(name, "POST", args, hasBody: true), 3));
        handle.Set("put", Function("put", (_, args) => ConnectorHttp(name, "PUT", args, hasBody: true), 3));
        handle.Set("call", Function("call", (_, args) => ConnectorCall(name, ToJsonArgument(Arg(args, 0), $"connector(\"{name}\").call(request, stepName)", "request"), Arg(args, 1)), 2));
        handle.Set("run", Function("run", (_, args) => ConnectorCall(name, new JsonObject { ["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a.ToString()))]) }, JsValue.Undefined), 1));
        handle.Set("health", Function("health", (_, _) =>
        {
            var frame = _current;
            return Start(frame, () => frame.Scope.CheckConnectorAsync(name, frame.Token));
        }, 0));
        return handle;
    }

    private JsValue ConnectorHttp(string connector, string method, JsValue[] arguments, bool hasBody)
    {
        var usage = $"connector(\"{connector}\").{method.ToLowerInvariant()}(path{(hasBody ? ", body" : "")}, stepName)";
        var request = new JsonObject { ["method"] = method, ["path"] = RequireName(arguments, 0, usage, "path") };
        if (hasBody && ToJsonArgument(Arg(arguments, 1), usage, "body") is { } body)
        {
            request["body"] = body;
        }

        return ConnectorCall(connector, request, Arg(arguments, hasBody ? 2 : 1));
    }

    private JsValue ConnectorCall(string connector, JsonNode? request, JsValue stepName)
    {
        var name = OptionalString(stepName, $"connector(\"{connector}\")", "stepName");
        var frame = _current;
        return Start(frame, () => frame.Scope.CallConnectorAsync(connector, request, name, frame.Token));
    }
}
