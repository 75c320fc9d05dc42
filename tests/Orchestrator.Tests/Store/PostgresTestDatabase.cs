using Npgsql;

namespace Orchestrator.Tests.Store;

/// <summary>
/// A fresh PostgreSQL database for one test class, on the server <c>ORCHESTRATOR_TEST_POSTGRES</c> names (CI starts one with
/// build/start-test-postgres.sh), dropped afterwards. Each test takes a schema of its own in it (<see cref="NewStore"/>).
/// Without the variable every PostgreSQL test fails, saying so: CI always sets it, so a missing server is never a silent pass.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncLifetime
{
    public const string Variable = "ORCHESTRATOR_TEST_POSTGRES";

    private NpgsqlConnectionStringBuilder? _server;

    /// <summary>The database's connection string (no search path).</summary>
    public string ConnectionString { get; private set; } = "";

    public NpgsqlConnectionStringBuilder Server => _server ?? throw new InvalidOperationException(
        $"{Variable} is not set: the PostgreSQL store tests need a server (source build/start-test-postgres.sh, see CONTRIBUTING.md)");

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } server)
        {
            return;
        }

        _server = new NpgsqlConnectionStringBuilder(server);
        var name = "orchestrator_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(_server.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(_server.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>A new empty schema in the class's database, and the connection string whose search path is it: one store.</summary>
    public string NewStore()
    {
        _ = Server;
        var schema = "t_" + Guid.NewGuid().ToString("N")[..12];
        using (var connection = new NpgsqlConnection(ConnectionString))
        {
            connection.Open();
            using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            create.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        var name = new NpgsqlConnectionStringBuilder(ConnectionString).Database;
        await using var admin = new NpgsqlConnection(_server.ConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}
