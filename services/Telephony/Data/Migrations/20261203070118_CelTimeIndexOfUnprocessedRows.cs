using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Telephony.Data.Migrations
{
    /// <inheritdoc />
    public partial class CelTimeIndexOfUnprocessedRows : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_cel_area_id_event_time",
                table: "cel");

            migrationBuilder.CreateIndex(
                name: "ix_cel_area_id_event_time_unprocessed",
                table: "cel",
                columns: new[] { "area_id", "event_time" },
                filter: "call_log_id IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_cel_area_id_event_time_unprocessed",
                table: "cel");

            migrationBuilder.CreateIndex(
                name: "ix_cel_area_id_event_time",
                table: "cel",
                columns: new[] { "area_id", "event_time" });
        }
    }
}
