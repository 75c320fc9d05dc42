using Orchestrator.Cli.Commands.Run;

namespace Orchestrator.Tests.Host;

/// <summary>The console frames a host renders a run into for a client: what goes in comes out, in bounded pieces.</summary>
public sealed class ConsoleFramesTests
{
    [Fact]
    public void Long_text_goes_in_frames_of_bounded_length_and_reads_back_whole()
    {
        var text = string.Concat(Enumerable.Range(0, 2_500_000).Select(i => (char)('a' + (i % 26)))) + "\nend ✓\n";

        using var reader = new StringReader(ConsoleFrames.Encode(ConsoleFrames.Out, text) + ConsoleFrames.Encode(ConsoleFrames.Exit, "0"));
        var frames = new List<(char Kind, string Text)>();
        while (ConsoleFrames.Read(reader) is { } frame)
        {
            frames.Add(frame);
        }

        frames.Should().HaveCount(4);
        frames.Take(3).Should().OnlyContain(f => f.Kind == ConsoleFrames.Out && f.Text.Length <= ConsoleFrames.MaxLength);
        string.Concat(frames.Take(3).Select(f => f.Text)).Should().Be(text);
        frames[3].Should().Be((ConsoleFrames.Exit, "0"));
    }

    [Theory]
    [InlineData("o 2000000000\nx")]
    [InlineData("o -1\nx")]
    [InlineData("HTTP/1.1 500\n")]
    [InlineData("o 10\nshort")]
    public void What_is_not_a_frame_ends_the_stream_rather_than_being_trusted(string stream)
    {
        using var reader = new StringReader(stream);

        ConsoleFrames.Read(reader).Should().BeNull();
    }
}
