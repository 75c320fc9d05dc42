// validated-order.js: validation, auto-correction and quality checks. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/validated-order.js --input '{"budget":100}'
// An order arrives from a real process with two mistakes (a quantity written as text, a total that
// misses a line): the schema and a check find them, a corrector fixes both, and the fix is validated
// again. Quality checks of the result run after the script returns; the report lists their verdicts.
const budget = input?.budget ?? 100;
const receipt = `/tmp/orchestrator-validated-${runId}.txt`;

const orderSchema = {
  title: "order",
  type: "object",
  required: ["id", "lines", "total"],
  properties: {
    id: { type: "string", pattern: "^ORD-[0-9]+$" },
    lines: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["sku", "qty", "price"],
        properties: {
          sku: { type: "string" },
          qty: { type: "integer", minimum: 1 },
          price: { type: "number", minimum: 0 },
        },
      },
    },
    total: { type: "number", minimum: 0 },
  },
};

const amount = (line) => Number(line.qty) * line.price;
const sum = (order) => order.lines.reduce((s, line) => s + amount(line), 0);

// The run's result must keep its shape; the quality checks judge it once the script returns.
validateResult({ schema: { title: "summary", type: "object", required: ["order", "lines", "total"] } });
qa("total within budget", (r) => r.total <= budget ? null : `total ${r.total} is over the budget of ${budget}`, { required: true });
qa("no line over half the total", (r) => r.lines
  .filter((l) => l.amount > r.total / 2)
  .map((l) => `${l.sku} is ${Math.round(l.amount * 100 / r.total)}% of the total`));
qa("receipt names the order", async (r) => {
  const text = await agent("shell").run({ command: "cat", args: [receipt] }, "read");
  return text.stdout.includes(r.order) ? null : "the receipt does not name the order";
});

// The order as an upstream system writes it.
const fetched = await agent("shell").run({
  command: "echo",
  args: ['{"id":"ORD-1042","lines":[{"sku":"A-1","qty":2,"price":12.5},{"sku":"B-7","qty":"1","price":5}],"total":25}'],
}, "fetch");

const order = await validate("order", JSON.parse(fetched.stdout), {
  schema: orderSchema,
  checks: {
    "total matches lines": (o) => o.total === sum(o) ? null : `total is ${o.total} but the lines add up to ${sum(o)}`,
  },
  correct: (o, issues) => {
    log(`correcting the order: ${issues.join("; ")}`);
    const lines = o.lines.map((line) => ({ ...line, qty: Number(line.qty) }));
    return { ...o, lines, total: sum({ lines }) };
  },
});

await agent("shell").run({ script: `echo '${order.id} ${order.total}' > ${receipt}` }, "receipt");

const summary = {
  order: order.id,
  lines: order.lines.map((l) => ({ sku: l.sku, amount: amount(l) })),
  total: order.total,
};
await handoff("validated-order", summary);
export default summary;
