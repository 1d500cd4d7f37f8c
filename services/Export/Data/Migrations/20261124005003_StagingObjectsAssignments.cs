using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CallLogs.Export.Data.Migrations
{
    /// <inheritdoc />
    public partial class StagingObjectsAssignments : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "assignments",
                columns: table => new
                {
                    profile_id = table.Column<Guid>(type: "uuid", nullable: false),
                    request_uuid = table.Column<string>(type: "text", nullable: false),
                    object_id = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_assignments", x => new { x.profile_id, x.request_uuid });
                });

            migrationBuilder.CreateTable(
                name: "enabled_periods",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    profile_id = table.Column<Guid>(type: "uuid", nullable: false),
                    from = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_enabled_periods", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "export_objects",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    profile_id = table.Column<Guid>(type: "uuid", nullable: false),
                    hour_start = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    extraction_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    bucket = table.Column<string>(type: "text", nullable: false),
                    key = table.Column<string>(type: "text", nullable: false),
                    uploaded = table.Column<bool>(type: "boolean", nullable: false),
                    record_count = table.Column<int>(type: "integer", nullable: false),
                    bytes = table.Column<long>(type: "bigint", nullable: false),
                    sha256 = table.Column<string>(type: "text", nullable: true),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    uploaded_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_export_objects", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "profiles",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    version = table.Column<long>(type: "bigint", nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    deleted = table.Column<bool>(type: "boolean", nullable: false),
                    snapshot = table.Column<string>(type: "jsonb", nullable: false),
                    last_hour_planned = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    received_watermark = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_profiles", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "staged_records",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    request_uuid = table.Column<string>(type: "text", nullable: false),
                    request_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    record = table.Column<string>(type: "jsonb", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_staged_records", x => new { x.area_id, x.request_uuid });
                });

            migrationBuilder.CreateIndex(
                name: "ix_assignments_object_id",
                table: "assignments",
                column: "object_id");

            migrationBuilder.CreateIndex(
                name: "ix_enabled_periods_profile_id",
                table: "enabled_periods",
                column: "profile_id");

            migrationBuilder.CreateIndex(
                name: "ix_export_objects_key",
                table: "export_objects",
                column: "key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_export_objects_profile_id_hour_start",
                table: "export_objects",
                columns: new[] { "profile_id", "hour_start" });

            migrationBuilder.CreateIndex(
                name: "ix_export_objects_uploaded",
                table: "export_objects",
                column: "uploaded",
                filter: "NOT uploaded");

            migrationBuilder.CreateIndex(
                name: "ix_profiles_area_id",
                table: "profiles",
                column: "area_id");

            migrationBuilder.CreateIndex(
                name: "ix_staged_records_area_id_request_time",
                table: "staged_records",
                columns: new[] { "area_id", "request_time" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "assignments");

            migrationBuilder.DropTable(
                name: "enabled_periods");

            migrationBuilder.DropTable(
                name: "export_objects");

            migrationBuilder.DropTable(
                name: "profiles");

            migrationBuilder.DropTable(
                name: "staged_records");
        }
    }
}
