using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CallLogs.Export.Data.Migrations
{
    /// <inheritdoc />
    public partial class StagingSequenceRanges : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "assignments");

            migrationBuilder.DropIndex(
                name: "ix_staged_records_area_id_received_at",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "received_watermark",
                table: "profiles");

            migrationBuilder.AddColumn<long>(
                name: "seq",
                table: "staged_records",
                type: "bigint",
                nullable: false)
                .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn);

            migrationBuilder.AddColumn<long>(
                name: "planned_through_seq",
                table: "profiles",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "seq_from",
                table: "export_objects",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "seq_to",
                table: "export_objects",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            // Objects and profiles of the assignment-based version: their ranges cover every record staged so far.
            migrationBuilder.Sql("""
                UPDATE export_objects SET seq_to = (SELECT COALESCE(max(seq), 0) FROM staged_records);
                UPDATE profiles SET planned_through_seq = (SELECT COALESCE(max(seq), 0) FROM staged_records);
                """);

            migrationBuilder.CreateIndex(
                name: "ix_staged_records_area_id_seq",
                table: "staged_records",
                columns: new[] { "area_id", "seq" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_staged_records_area_id_seq",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "seq",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "planned_through_seq",
                table: "profiles");

            migrationBuilder.DropColumn(
                name: "seq_from",
                table: "export_objects");

            migrationBuilder.DropColumn(
                name: "seq_to",
                table: "export_objects");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "received_watermark",
                table: "profiles",
                type: "timestamp with time zone",
                nullable: false,
                defaultValue: new DateTimeOffset(new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified), new TimeSpan(0, 0, 0, 0, 0)));

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

            migrationBuilder.CreateIndex(
                name: "ix_staged_records_area_id_received_at",
                table: "staged_records",
                columns: new[] { "area_id", "received_at" });

            migrationBuilder.CreateIndex(
                name: "ix_assignments_object_id",
                table: "assignments",
                column: "object_id");
        }
    }
}
