using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CallLogs.Ingest.Data.Telephony.Migrations
{
    /// <inheritdoc />
    public partial class TelephonyInitial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "telephony_area_settings",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    retention_days = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_telephony_area_settings", x => x.area_id);
                });

            migrationBuilder.CreateTable(
                name: "telephony_call_log",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    conversation_id = table.Column<string>(type: "text", nullable: false),
                    date = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    date_answer = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    date_end = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    source_name = table.Column<string>(type: "text", nullable: true),
                    source_exten = table.Column<string>(type: "text", nullable: true),
                    source_internal_name = table.Column<string>(type: "text", nullable: true),
                    source_internal_exten = table.Column<string>(type: "text", nullable: true),
                    source_internal_context = table.Column<string>(type: "text", nullable: true),
                    source_line_identity = table.Column<string>(type: "text", nullable: true),
                    source_user_uuid = table.Column<Guid>(type: "uuid", nullable: true),
                    requested_name = table.Column<string>(type: "text", nullable: true),
                    requested_exten = table.Column<string>(type: "text", nullable: true),
                    requested_context = table.Column<string>(type: "text", nullable: true),
                    requested_internal_exten = table.Column<string>(type: "text", nullable: true),
                    requested_internal_context = table.Column<string>(type: "text", nullable: true),
                    destination_name = table.Column<string>(type: "text", nullable: true),
                    destination_exten = table.Column<string>(type: "text", nullable: true),
                    destination_internal_exten = table.Column<string>(type: "text", nullable: true),
                    destination_internal_context = table.Column<string>(type: "text", nullable: true),
                    destination_line_identity = table.Column<string>(type: "text", nullable: true),
                    destination_user_uuid = table.Column<Guid>(type: "uuid", nullable: true),
                    user_field = table.Column<string>(type: "text", nullable: true),
                    direction = table.Column<string>(type: "text", nullable: false),
                    blocked = table.Column<bool>(type: "boolean", nullable: false),
                    reached_voicemail = table.Column<bool>(type: "boolean", nullable: false),
                    tags = table.Column<List<string>>(type: "text[]", nullable: false),
                    user_uuids = table.Column<List<Guid>>(type: "uuid[]", nullable: false),
                    participants = table.Column<string>(type: "jsonb", nullable: false),
                    destination_details = table.Column<string>(type: "jsonb", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_telephony_call_log", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "telephony_user",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    uuid = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "text", nullable: true),
                    user_field = table.Column<string>(type: "text", nullable: true),
                    lines = table.Column<string>(type: "jsonb", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_telephony_user", x => new { x.area_id, x.uuid });
                });

            migrationBuilder.CreateTable(
                name: "telephony_voicemail",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    id = table.Column<int>(type: "integer", nullable: false),
                    name = table.Column<string>(type: "text", nullable: false),
                    number = table.Column<string>(type: "text", nullable: false),
                    context = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_telephony_voicemail", x => new { x.area_id, x.id });
                });

            migrationBuilder.CreateTable(
                name: "telephony_cel",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    id = table.Column<long>(type: "bigint", nullable: false),
                    event_type = table.Column<string>(type: "text", nullable: false),
                    event_time = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    user_def_type = table.Column<string>(type: "text", nullable: false),
                    cid_name = table.Column<string>(type: "text", nullable: false),
                    cid_num = table.Column<string>(type: "text", nullable: false),
                    cid_ani = table.Column<string>(type: "text", nullable: false),
                    cid_rdnis = table.Column<string>(type: "text", nullable: false),
                    cid_dnid = table.Column<string>(type: "text", nullable: false),
                    exten = table.Column<string>(type: "text", nullable: false),
                    context = table.Column<string>(type: "text", nullable: false),
                    chan_name = table.Column<string>(type: "text", nullable: false),
                    app_name = table.Column<string>(type: "text", nullable: false),
                    app_data = table.Column<string>(type: "text", nullable: false),
                    ama_flags = table.Column<int>(type: "integer", nullable: false),
                    account_code = table.Column<string>(type: "text", nullable: false),
                    peer_account = table.Column<string>(type: "text", nullable: false),
                    unique_id = table.Column<string>(type: "text", nullable: false),
                    linked_id = table.Column<string>(type: "text", nullable: false),
                    user_field = table.Column<string>(type: "text", nullable: false),
                    peer = table.Column<string>(type: "text", nullable: false),
                    extra = table.Column<string>(type: "text", nullable: false),
                    call_log_id = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_telephony_cel", x => new { x.area_id, x.id });
                    table.ForeignKey(
                        name: "fk_telephony_cel_call_logs_call_log_id",
                        column: x => x.call_log_id,
                        principalTable: "telephony_call_log",
                        principalColumn: "id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateIndex(
                name: "ix_telephony_call_log_area_id_date",
                table: "telephony_call_log",
                columns: new[] { "area_id", "date" });

            migrationBuilder.CreateIndex(
                name: "ix_telephony_call_log_tags",
                table: "telephony_call_log",
                column: "tags")
                .Annotation("Npgsql:IndexMethod", "gin");

            migrationBuilder.CreateIndex(
                name: "ix_telephony_call_log_user_uuids",
                table: "telephony_call_log",
                column: "user_uuids")
                .Annotation("Npgsql:IndexMethod", "gin");

            migrationBuilder.CreateIndex(
                name: "ix_telephony_cel_area_id_event_time",
                table: "telephony_cel",
                columns: new[] { "area_id", "event_time" });

            migrationBuilder.CreateIndex(
                name: "ix_telephony_cel_area_id_linked_id",
                table: "telephony_cel",
                columns: new[] { "area_id", "linked_id" });

            migrationBuilder.CreateIndex(
                name: "ix_telephony_cel_area_id_unique_id",
                table: "telephony_cel",
                columns: new[] { "area_id", "unique_id" });

            migrationBuilder.CreateIndex(
                name: "ix_telephony_cel_call_log_id",
                table: "telephony_cel",
                column: "call_log_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "telephony_area_settings");

            migrationBuilder.DropTable(
                name: "telephony_cel");

            migrationBuilder.DropTable(
                name: "telephony_user");

            migrationBuilder.DropTable(
                name: "telephony_voicemail");

            migrationBuilder.DropTable(
                name: "telephony_call_log");
        }
    }
}
