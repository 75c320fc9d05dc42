using System.Text.Json.Nodes;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Tests.Validation;

/// <summary>The validators on their own: what a schema and a predicate say about a value, and in what words.</summary>
public sealed class ValidatorTests
{
    private const string OrderSchema = """
        {
          "title": "order",
          "type": "object",
          "required": ["id", "items"],
          "properties": {
            "id": { "type": "string" },
            "items": { "type": "array", "minItems": 1, "items": {
              "type": "object", "required": ["price"],
              "properties": { "price": { "type": "number", "minimum": 0 } } } }
          }
        }
        """;

    [Fact]
    public async Task A_schema_names_each_issue_by_where_it_is_in_the_value()
    {
        var validator = Validator.Schema(JsonNode.Parse(OrderSchema)!);

        var issues = await validator.CheckAsync(null!, JsonNode.Parse("""{"id":7,"items":[{"price":-1},{"price":"free"}]}"""), CancellationToken.None);

        validator.Name.Should().Be("order", "a schema is named by its title");
        issues.Should().BeEquivalentTo(
            "/id: Value is \"integer\" but should be \"string\"",
            "/items/0/price: -1 should be at least 0",
            "/items/1/price: Value is \"string\" but should be \"number\"");
    }

    [Fact]
    public async Task A_schema_reports_issues_of_the_whole_value_at_the_root_and_passes_a_valid_one()
    {
        var validator = Validator.Schema(JsonNode.Parse(OrderSchema)!, "order schema");

        var missing = await validator.CheckAsync(null!, JsonNode.Parse("""{"items":[]}"""), CancellationToken.None);
        var nothing = await validator.CheckAsync(null!, null, CancellationToken.None);
        var valid = await validator.CheckAsync(null!, JsonNode.Parse("""{"id":"A","items":[{"price":0}]}"""), CancellationToken.None);

        validator.Name.Should().Be("order schema");
        missing.Should().BeEquivalentTo("(root): Required properties [\"id\"] are not present", "/items: Value should have at least 1 items");
        nothing.Should().Equal("(root): Value is \"null\" but should be \"object\"");
        valid.Should().BeEmpty();
    }

    [Theory]
    [InlineData("""{"type": 5}""", "'type' must be either a string or an array of strings")]
    [InlineData("""{"tpye": "object"}""", "Unknown keywords (tpye)")]
    public void A_broken_schema_is_refused_when_the_validator_is_made(string schema, string why)
    {
        var make = () => Validator.Schema(JsonNode.Parse(schema)!);

        make.Should().Throw<ArgumentException>().WithMessage($"invalid JSON schema: *{why}*");
    }

    [Fact]
    public async Task A_predicate_prefixes_its_issues_with_its_name()
    {
        var validator = Validator.Predicate("total matches", value => Task.FromResult<IReadOnlyList<string>>(
            value!["total"]!.GetValue<int>() == 30 ? [] : ["total is 25 but the lines add up to 30", ""]));

        var issues = await validator.CheckAsync(null!, JsonNode.Parse("""{"total":25}"""), CancellationToken.None);
        var none = await validator.CheckAsync(null!, JsonNode.Parse("""{"total":30}"""), CancellationToken.None);

        issues.Should().Equal("total matches: total is 25 but the lines add up to 30");
        none.Should().BeEmpty();
    }

    [Theory]
    [InlineData("null", new string[0])]
    [InlineData("true", new string[0])]
    [InlineData("false", new[] { "failed" })]
    [InlineData("\"\"", new string[0])]
    [InlineData("\"too big\"", new[] { "too big" })]
    [InlineData("[]", new string[0])]
    [InlineData("""["a", null, "b", {"code":1}]""", new[] { "a", "b", """{"code":1}""" })]
    public void What_a_script_check_returns_reads_as_issues(string verdict, string[] issues)
    {
        Validator.IssuesFrom(JsonNode.Parse(verdict), "c").Should().Equal(issues);
    }

    [Fact]
    public void A_check_that_returns_something_else_says_what_a_check_returns()
    {
        var read = () => Validator.IssuesFrom(JsonValue.Create(42), "total");

        read.Should().Throw<InvalidOperationException>().WithMessage("check 'total' returned 42; a check returns true/false, an issue (a string), a list of issues, or null");
    }
}
