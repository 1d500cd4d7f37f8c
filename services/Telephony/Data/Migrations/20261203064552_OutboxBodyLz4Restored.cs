using CallLogs.ServiceDefaults.Outbox;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Telephony.Data.Migrations
{
    /// <inheritdoc />
    public partial class OutboxBodyLz4Restored : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // the migration to text reset it to the server default (pglz)
            migrationBuilder.SetOutboxBodyCompression("lz4");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.SetOutboxBodyCompression("DEFAULT");
        }
    }
}
