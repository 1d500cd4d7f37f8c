using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CallLogs.Audit.Data.Migrations
{
    /// <inheritdoc />
    public partial class AuditTrail : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "audit_areas",
                columns: table => new
                {
                    area_key = table.Column<string>(type: "text", nullable: false),
                    first_seen = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_areas", x => x.area_key);
                });

            migrationBuilder.CreateTable(
                name: "audit_digests",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    area_key = table.Column<string>(type: "text", nullable: false),
                    period_start = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    period_end = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    key = table.Column<string>(type: "text", nullable: false),
                    sha256 = table.Column<string>(type: "text", nullable: false),
                    signature = table.Column<string>(type: "text", nullable: false),
                    key_fingerprint = table.Column<string>(type: "text", nullable: false),
                    previous_key = table.Column<string>(type: "text", nullable: true),
                    previous_sha256 = table.Column<string>(type: "text", nullable: true),
                    previous_signature = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_digests", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "audit_events",
                columns: table => new
                {
                    event_id = table.Column<Guid>(type: "uuid", nullable: false),
                    seq = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    event_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    area_key = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    area_id = table.Column<Guid>(type: "uuid", nullable: true),
                    event_source = table.Column<string>(type: "text", nullable: false),
                    event_name = table.Column<string>(type: "text", nullable: false),
                    user_name = table.Column<string>(type: "text", nullable: true),
                    access_key_id = table.Column<string>(type: "text", nullable: true),
                    read_only = table.Column<bool>(type: "boolean", nullable: false),
                    resource_types = table.Column<string[]>(type: "text[]", nullable: false),
                    resource_names = table.Column<string[]>(type: "text[]", nullable: false),
                    record = table.Column<string>(type: "json", nullable: false),
                    received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    log_file_id = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_events", x => x.event_id);
                });

            migrationBuilder.CreateTable(
                name: "audit_log_files",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    area_key = table.Column<string>(type: "text", nullable: false),
                    key = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    event_count = table.Column<int>(type: "integer", nullable: false),
                    oldest_event_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    newest_event_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    sha256 = table.Column<string>(type: "text", nullable: true),
                    uploaded_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_log_files", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "audit_signing_keys",
                columns: table => new
                {
                    fingerprint = table.Column<string>(type: "text", nullable: false),
                    public_key_pem = table.Column<string>(type: "text", nullable: false),
                    first_used = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_signing_keys", x => x.fingerprint);
                });

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

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_area_id_event_time_seq",
                table: "audit_events",
                columns: new[] { "area_id", "event_time", "seq" });

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_event_time_seq",
                table: "audit_events",
                columns: new[] { "event_time", "seq" });

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_log_file_id",
                table: "audit_events",
                column: "log_file_id");

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_seq",
                table: "audit_events",
                column: "seq",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_audit_events_undelivered",
                table: "audit_events",
                columns: new[] { "area_key", "seq" },
                filter: "log_file_id IS NULL");

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
                name: "ix_audit_log_files_pending",
                table: "audit_log_files",
                column: "id",
                filter: "uploaded_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit_areas");

            migrationBuilder.DropTable(
                name: "audit_digests");

            migrationBuilder.DropTable(
                name: "audit_events");

            migrationBuilder.DropTable(
                name: "audit_log_files");

            migrationBuilder.DropTable(
                name: "audit_signing_keys");
        }
    }
}
