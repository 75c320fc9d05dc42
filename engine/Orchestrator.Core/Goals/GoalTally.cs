using System.Text.Json.Nodes;

namespace Orchestrator.Core.Goals;

/// <summary>What a run's goals are checked against, counted as the run goes: phase items, failed ones, and agents' reported cost.</summary>
internal sealed class GoalTally
{
    private long _items;
    private long _failedItems;
    private double _cost;
    private readonly Lock _gate = new();

    public long Items => Interlocked.Read(ref _items);

    public long FailedItems => Interlocked.Read(ref _failedItems);

    public double Cost
    {
        get
        {
            lock (_gate)
            {
                return _cost;
            }
        }
    }

    public void AddItems(long items, long failed)
    {
        Interlocked.Add(ref _items, items);
        Interlocked.Add(ref _failedItems, failed);
    }

    public void AddCost(double cost)
    {
        lock (_gate)
        {
            _cost += cost;
        }
    }

    /// <summary>
    /// What an agent's output says it cost: its own <c>cost</c>, else the tokens of <c>usage</c> (the <c>llm</c> agent's
    /// <c>totalTokens</c>); 0 when it says nothing.
    /// </summary>
    public static double CostOf(JsonNode? output) => output is not JsonObject o ? 0
        : Number(o["cost"]) ?? Number(o["usage"]?["totalTokens"]) ?? Number(o["usage"]?["total_tokens"]) ?? 0;

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : null;
}
