using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Export.Data.Migrations
{
    /// <inheritdoc />
    public partial class OrderedProfileEventsAreaNamesAbandonedObjects : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "snapshot",
                table: "profiles",
                type: "jsonb",
                nullable: true,
                oldClrType: typeof(string),
                oldType: "jsonb");

            migrationBuilder.AddColumn<string>(
                name: "planning_error",
                table: "profiles",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "abandoned_at",
                table: "export_objects",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "pending_since",
                table: "export_objects",
                type: "timestamp with time zone",
                nullable: false,
                defaultValue: new DateTimeOffset(new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified), new TimeSpan(0, 0, 0, 0, 0)));

            migrationBuilder.CreateTable(
                name: "area_names",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "text", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_area_names", x => x.area_id);
                });

            migrationBuilder.CreateTable(
                name: "profile_versions",
                columns: table => new
                {
                    profile_id = table.Column<Guid>(type: "uuid", nullable: false),
                    version = table.Column<long>(type: "bigint", nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    deleted = table.Column<bool>(type: "boolean", nullable: false),
                    at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_profile_versions", x => new { x.profile_id, x.version });
                });

            // Objects already waiting wait since they were planned.
            migrationBuilder.Sql("UPDATE export_objects SET pending_since = created_at;");

            // The history of existing profiles, from what was kept of it: each enabled period is an enabling version and,
            // when it ended, a disabling one (numbered 1, 2, 3...: every change had a version, so they stay at or below
            // the copy's), then the copy's own version. Later events then work out the same periods.
            migrationBuilder.Sql("""
                WITH numbered AS (
                    SELECT profile_id, "from", until, row_number() OVER (PARTITION BY profile_id ORDER BY "from") AS n FROM enabled_periods)
                INSERT INTO profile_versions (profile_id, version, enabled, deleted, at)
                SELECT profile_id, 2 * n - 1, true, false, "from" FROM numbered
                UNION ALL
                SELECT profile_id, 2 * n, false, false, until FROM numbered WHERE until IS NOT NULL
                ON CONFLICT DO NOTHING;
                INSERT INTO profile_versions (profile_id, version, enabled, deleted, at)
                SELECT id, version, enabled, deleted, COALESCE((snapshot->>'updatedAt')::timestamptz, now()) FROM profiles
                ON CONFLICT DO NOTHING;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "area_names");

            migrationBuilder.DropTable(
                name: "profile_versions");

            migrationBuilder.DropColumn(
                name: "planning_error",
                table: "profiles");

            migrationBuilder.DropColumn(
                name: "abandoned_at",
                table: "export_objects");

            migrationBuilder.DropColumn(
                name: "pending_since",
                table: "export_objects");

            migrationBuilder.AlterColumn<string>(
                name: "snapshot",
                table: "profiles",
                type: "jsonb",
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "jsonb",
                oldNullable: true);
        }
    }
}
