// validated-order.csx: validation, auto-correction and quality checks. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/validated-order.csx --input '{"budget":100}'
// An order arrives from a real process with two mistakes (a quantity written as text, a total that
// misses a line): the schema and a check find them, a corrector fixes both, and the fix is validated
// again. Quality checks of the result run after the script returns; the report lists their verdicts.
var budget = Input?["budget"]?.GetValue<double>() ?? 100;
var receipt = $"/tmp/orchestrator-validated-{RunId}.txt";

var orderSchema = """
    {
      "title": "order",
      "type": "object",
      "required": ["id", "lines", "total"],
      "properties": {
        "id": { "type": "string", "pattern": "^ORD-[0-9]+$" },
        "lines": {
          "type": "array",
          "minItems": 1,
          "items": {
            "type": "object",
            "required": ["sku", "qty", "price"],
            "properties": {
              "sku": { "type": "string" },
              "qty": { "type": "integer", "minimum": 1 },
              "price": { "type": "number", "minimum": 0 }
            }
          }
        },
        "total": { "type": "number", "minimum": 0 }
      }
    }
    """;

double Quantity(JsonNode? line) => double.Parse(line!["qty"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture);
double Amount(JsonNode? line) => Quantity(line) * line!["price"]!.GetValue<double>();
double Sum(JsonNode? order) => order!["lines"]!.AsArray().Sum(Amount);

// The run's result must keep its shape; the quality checks judge it once the script returns.
ValidateResult(Schema("""{ "title": "summary", "type": "object", "required": ["order", "lines", "total"] }"""));
Qa("total within budget", r => r!["total"]!.GetValue<double>() <= budget ? null : $"total {r["total"]} is over the budget of {budget}", required: true);
Qa("no line over half the total", r => r!["lines"]!.AsArray()
    .Where(l => l!["amount"]!.GetValue<double>() > r["total"]!.GetValue<double>() / 2)
    .Select(l => $"{l!["sku"]} is {Math.Round(l["amount"]!.GetValue<double>() * 100 / r["total"]!.GetValue<double>())}% of the total"));
Qa("receipt names the order", async r =>
{
    var text = await Agent("shell").RunAsync(new { command = "cat", args = new[] { receipt } }, name: "read");
    return text!["stdout"]!.GetValue<string>().Contains(r!["order"]!.GetValue<string>()) ? null : "the receipt does not name the order";
});

// The order as an upstream system writes it.
var fetched = await Agent("shell").RunAsync(new
{
    command = "echo",
    args = new[] { """{"id":"ORD-1042","lines":[{"sku":"A-1","qty":2,"price":12.5},{"sku":"B-7","qty":"1","price":5}],"total":25}""" },
}, name: "fetch");

var order = await Validate("order", JsonNode.Parse(fetched!["stdout"]!.GetValue<string>()),
    [
        Schema(orderSchema),
        Check("total matches lines", o => o!["total"]!.GetValue<double>() == Sum(o) ? null : $"total is {o["total"]} but the lines add up to {Sum(o)}"),
    ],
    correct: (o, issues) =>
    {
        Log("correcting the order: " + string.Join("; ", issues));
        var fixedOrder = o!.DeepClone();
        foreach (var line in fixedOrder["lines"]!.AsArray())
        {
            line!["qty"] = (int)Quantity(line);
        }

        fixedOrder["total"] = Sum(fixedOrder);
        return fixedOrder;
    });

var id = order!["id"]!.GetValue<string>();
var total = order["total"]!.GetValue<double>();
await Agent("shell").RunAsync(new { script = $"echo '{id} {total}' > {receipt}" }, name: "receipt");

var summary = new
{
    order = id,
    lines = order["lines"]!.AsArray().Select(l => new { sku = l!["sku"]!.GetValue<string>(), amount = Amount(l) }).ToArray(),
    total,
};
await Handoff("validated-order", summary);
return summary;
