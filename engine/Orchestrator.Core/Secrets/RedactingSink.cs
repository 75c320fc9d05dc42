using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace Orchestrator.Core.Secrets;

/// <summary>
/// Wraps the log's sinks (<c>WriteTo.Wrap</c>) so that every event they see has its secrets redacted: the
/// message template, every property value (nested ones too) and the exception's text.
/// </summary>
internal sealed class RedactingSink(ILogEventSink inner, SecretRegistry secrets) : ILogEventSink, IDisposable, IAsyncDisposable
{
    private static readonly MessageTemplateParser Parser = new();

    public void Emit(LogEvent logEvent)
    {
        inner.Emit(secrets.IsEmpty ? logEvent : Redact(logEvent));
    }

    private LogEvent Redact(LogEvent e)
    {
        var text = secrets.Redact(e.MessageTemplate.Text);
        var template = text == e.MessageTemplate.Text ? e.MessageTemplate : Parser.Parse(text);
        var exception = e.Exception is null ? null : new RedactedException(e.Exception, secrets);
        var properties = e.Properties.Select(p => new LogEventProperty(p.Key, Redact(p.Value)));
        return new LogEvent(e.Timestamp, e.Level, exception, template, properties, e.TraceId ?? default, e.SpanId ?? default);
    }

    private LogEventPropertyValue Redact(LogEventPropertyValue value) => value switch
    {
        ScalarValue { Value: string s } => new ScalarValue(secrets.Redact(s)),
        ScalarValue { Value: null or ValueType } => value,
        ScalarValue other => new ScalarValue(secrets.Redact(other.Value.ToString() ?? "")),
        SequenceValue seq => new SequenceValue(seq.Elements.Select(Redact)),
        StructureValue st => new StructureValue(st.Properties.Select(p => new LogEventProperty(p.Name, Redact(p.Value))), st.TypeTag),
        DictionaryValue dict => new DictionaryValue(dict.Elements.Select(kv => new KeyValuePair<ScalarValue, LogEventPropertyValue>((ScalarValue)Redact(kv.Key), Redact(kv.Value)))),
        _ => value,
    };

    public void Dispose() => (inner as IDisposable)?.Dispose();

    public ValueTask DisposeAsync() => inner is IAsyncDisposable async ? async.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Stands in for a logged exception: the same type name and text, with the secrets taken out.</summary>
    private sealed class RedactedException(Exception original, SecretRegistry secrets) : Exception(secrets.Redact(original.Message))
    {
        private readonly string _text = secrets.Redact(original.ToString());

        public override string? StackTrace => null;

        public override string ToString() => _text;
    }
}
