using Orchestrator.Core.Journal.Postgres;

namespace Orchestrator.Tests.Store;

/// <summary>How a <c>--store</c> is taken as a PostgreSQL database, and how it is shown.</summary>
public sealed class PostgresConnectionTests
{
    [Theory]
    [InlineData("postgres://u@h/db", true)]
    [InlineData("postgresql://h", true)]
    [InlineData("Host=h;Database=d", true)]
    [InlineData(".orchestrator", false)]
    [InlineData("/tmp/a=b/store", false)]
    public void A_url_or_a_connection_string_names_a_database_and_a_path_does_not(string store, bool postgres) =>
        PostgresConnection.IsPostgres(store).Should().Be(postgres);

    [Fact]
    public void A_url_is_converted_with_its_user_password_port_database_and_parameters_decoded()
    {
        var builder = PostgresConnection.Parse("postgres://ann%40corp:p%3Ass@db.example:6543/orch%20store?sslmode=disable&search_path=runs");

        (builder.Host, builder.Port, builder.Username, builder.Password, builder.Database, builder.SearchPath)
            .Should().Be(("db.example", 6543, "ann@corp", "p:ss", "orch store", "runs"));
        builder.SslMode.Should().Be(Npgsql.SslMode.Disable);
        PostgresConnection.Describe(builder).Should().Contain("Password=***").And.NotContain("p:ss");
    }

    [Theory]
    [InlineData("postgres://u:secret@h/db?nonsense=1", "nonsense")]
    [InlineData("Host=h;Bogus Key=1;Password=secret", "not a valid connection string")]
    [InlineData("Server=;Password=secret", "names no host")]
    public void A_malformed_store_is_refused_without_quoting_its_password(string store, string says)
    {
        var parse = () => PostgresConnection.Parse(store);

        parse.Should().Throw<ArgumentException>().Which.Message.Should().Contain(says).And.NotContain("secret");
    }
}
