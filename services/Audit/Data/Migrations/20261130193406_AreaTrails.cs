using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Audit.Data.Migrations
{
    /// <inheritdoc />
    public partial class AreaTrails : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_audit_log_files_area_key_created_at",
                table: "audit_log_files");

            migrationBuilder.DropIndex(
                name: "ix_audit_log_files_key",
                table: "audit_log_files");

            migrationBuilder.DropIndex(
                name: "ix_audit_digests_area_key_period_end",
                table: "audit_digests");

            migrationBuilder.DropIndex(
                name: "ix_audit_digests_key",
                table: "audit_digests");

            migrationBuilder.AddColumn<int>(
                name: "attempts",
                table: "audit_log_files",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "bucket",
                table: "audit_log_files",
                type: "character varying(63)",
                maxLength: 63,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "last_error",
                table: "audit_log_files",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "next_attempt_at",
                table: "audit_log_files",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "trail_id",
                table: "audit_log_files",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "area_log_file_id",
                table: "audit_events",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "area_trail_id",
                table: "audit_events",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "bucket",
                table: "audit_digests",
                type: "character varying(63)",
                maxLength: 63,
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "trail_id",
                table: "audit_digests",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "audit_area_trails",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    bucket = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    prefix = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false),
                    iam_role_arn = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    cmk_key_arn = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    iam_role_external_id = table.Column<string>(type: "character varying(1224)", maxLength: 1224, nullable: true),
                    is_logging = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_logging_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    stopped_logging_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    latest_delivery_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    latest_delivery_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    latest_delivery_error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    latest_digest_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    latest_digest_error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_area_trails", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_audit_log_files_bucket_key",
                table: "audit_log_files",
                columns: new[] { "bucket", "key" },
                unique: true)
                .Annotation("Npgsql:NullsDistinct", false);

            migrationBuilder.CreateIndex(
                name: "ix_audit_log_files_trail_id_area_key_created_at",
                table: "audit_log_files",
                columns: new[] { "trail_id", "area_key", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_area_log_file_id",
                table: "audit_events",
                column: "area_log_file_id");

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_undelivered_to_area_trail",
                table: "audit_events",
                columns: new[] { "area_trail_id", "seq" },
                filter: "area_trail_id IS NOT NULL AND area_log_file_id IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_audit_digests_bucket_key",
                table: "audit_digests",
                columns: new[] { "bucket", "key" },
                unique: true)
                .Annotation("Npgsql:NullsDistinct", false);

            migrationBuilder.CreateIndex(
                name: "ix_audit_digests_trail_id_area_key_period_end",
                table: "audit_digests",
                columns: new[] { "trail_id", "area_key", "period_end" },
                unique: true)
                .Annotation("Npgsql:NullsDistinct", false);

            migrationBuilder.CreateIndex(
                name: "ix_audit_area_trails_area_id",
                table: "audit_area_trails",
                column: "area_id",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit_area_trails");

            migrationBuilder.DropIndex(
                name: "ix_audit_log_files_bucket_key",
                table: "audit_log_files");

            migrationBuilder.DropIndex(
                name: "ix_audit_log_files_trail_id_area_key_created_at",
                table: "audit_log_files");

            migrationBuilder.DropIndex(
                name: "ix_audit_events_area_log_file_id",
                table: "audit_events");

            migrationBuilder.DropIndex(
                name: "ix_audit_events_undelivered_to_area_trail",
                table: "audit_events");

            migrationBuilder.DropIndex(
                name: "ix_audit_digests_bucket_key",
                table: "audit_digests");

            migrationBuilder.DropIndex(
                name: "ix_audit_digests_trail_id_area_key_period_end",
                table: "audit_digests");

            migrationBuilder.DropColumn(
                name: "attempts",
                table: "audit_log_files");

            migrationBuilder.DropColumn(
                name: "bucket",
                table: "audit_log_files");

            migrationBuilder.DropColumn(
                name: "last_error",
                table: "audit_log_files");

            migrationBuilder.DropColumn(
                name: "next_attempt_at",
                table: "audit_log_files");

            migrationBuilder.DropColumn(
                name: "trail_id",
                table: "audit_log_files");

            migrationBuilder.DropColumn(
                name: "area_log_file_id",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "area_trail_id",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "bucket",
                table: "audit_digests");

            migrationBuilder.DropColumn(
                name: "trail_id",
                table: "audit_digests");

            migrationBuilder.CreateIndex(
                name: "ix_audit_log_files_area_key_created_at",
                table: "audit_log_files",
                columns: new[] { "area_key", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_audit_log_files_key",
                table: "audit_log_files",
                column: "key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_audit_digests_area_key_period_end",
                table: "audit_digests",
                columns: new[] { "area_key", "period_end" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_audit_digests_key",
                table: "audit_digests",
                column: "key",
                unique: true);
        }
    }
}
