namespace Orchestrator.Core.Journal;

/// <summary>
/// The shape of a step id with what varies between repeats taken out: every run of digits becomes <c>*</c> and a
/// repeat suffix (<c>#2</c>) is dropped, so <c>all/w17/s3#2</c> and <c>all/w4/s12</c> are both <c>all/w*/s*</c>.
/// Reports group the steps of big runs by it.
/// </summary>
internal static class StepPattern
{
    /// <summary>Writes the pattern of <paramref name="stepId"/> into <paramref name="destination"/> (at least as long as the id) and returns its length.</summary>
    public static int Write(ReadOnlySpan<char> stepId, Span<char> destination)
    {
        var length = 0;
        for (var i = 0; i < stepId.Length; i++)
        {
            var c = stepId[i];
            if (c == '#')
            {
                // A repeat suffix runs to the end of its segment.
                while (i + 1 < stepId.Length && stepId[i + 1] != '/')
                {
                    i++;
                }

                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                while (i + 1 < stepId.Length && char.IsAsciiDigit(stepId[i + 1]))
                {
                    i++;
                }

                destination[length++] = '*';
                continue;
            }

            destination[length++] = c;
        }

        return length;
    }

    public static string Of(string stepId)
    {
        Span<char> buffer = stepId.Length <= 256 ? stackalloc char[stepId.Length] : new char[stepId.Length];
        var length = Write(stepId, buffer);
        return length == stepId.Length && buffer[..length].SequenceEqual(stepId) ? stepId : new string(buffer[..length]);
    }
}
