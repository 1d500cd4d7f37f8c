using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CallLogs.Telephony.Data.Migrations
{
    /// <inheritdoc />
    public partial class TelephonyInitial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "area_settings",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    retention_days = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_area_settings", x => x.area_id);
                });

            migrationBuilder.CreateTable(
                name: "call_log",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    conversation_id = table.Column<string>(type: "text", nullable: false),
                    start = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    answer = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    end = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    call_direction = table.Column<string>(type: "text", nullable: false),
                    source_name = table.Column<string>(type: "text", nullable: true),
                    source_extension = table.Column<string>(type: "text", nullable: true),
                    source_internal_name = table.Column<string>(type: "text", nullable: true),
                    source_internal_extension = table.Column<string>(type: "text", nullable: true),
                    source_internal_context = table.Column<string>(type: "text", nullable: true),
                    source_line_identity = table.Column<string>(type: "text", nullable: true),
                    source_user_uuid = table.Column<Guid>(type: "uuid", nullable: true),
                    requested_name = table.Column<string>(type: "text", nullable: true),
                    requested_extension = table.Column<string>(type: "text", nullable: true),
                    requested_context = table.Column<string>(type: "text", nullable: true),
                    requested_internal_extension = table.Column<string>(type: "text", nullable: true),
                    requested_internal_context = table.Column<string>(type: "text", nullable: true),
                    requested_user_uuid = table.Column<Guid>(type: "uuid", nullable: true),
                    destination_name = table.Column<string>(type: "text", nullable: true),
                    destination_extension = table.Column<string>(type: "text", nullable: true),
                    destination_internal_extension = table.Column<string>(type: "text", nullable: true),
                    destination_internal_context = table.Column<string>(type: "text", nullable: true),
                    destination_line_identity = table.Column<string>(type: "text", nullable: true),
                    destination_user_uuid = table.Column<Guid>(type: "uuid", nullable: true),
                    destination_details = table.Column<string>(type: "jsonb", nullable: false),
                    user_field = table.Column<string>(type: "text", nullable: true),
                    blocked = table.Column<bool>(type: "boolean", nullable: false),
                    reached_voicemail = table.Column<bool>(type: "boolean", nullable: false),
                    tags = table.Column<string[]>(type: "text[]", nullable: false),
                    participants = table.Column<string>(type: "jsonb", nullable: false),
                    user_uuids = table.Column<Guid[]>(type: "uuid[]", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_call_log", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "cel",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
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
                    table.PrimaryKey("pk_cel", x => new { x.area_id, x.id });
                });

            migrationBuilder.CreateTable(
                name: "directory_user",
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
                    table.PrimaryKey("pk_directory_user", x => new { x.area_id, x.uuid });
                });

            migrationBuilder.CreateTable(
                name: "directory_voicemail",
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
                    table.PrimaryKey("pk_directory_voicemail", x => new { x.area_id, x.id });
                });

            migrationBuilder.CreateTable(
                name: "operation",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    kind = table.Column<string>(type: "text", nullable: false),
                    started_by = table.Column<string>(type: "text", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    state = table.Column<string>(type: "text", nullable: false),
                    done = table.Column<long>(type: "bigint", nullable: false),
                    total = table.Column<long>(type: "bigint", nullable: false),
                    unit = table.Column<string>(type: "text", nullable: false),
                    message = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_operation", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "outbox_messages",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_type = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false),
                    body = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    published_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    last_error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_outbox_messages", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_call_log_area_id_start",
                table: "call_log",
                columns: new[] { "area_id", "start" });

            migrationBuilder.CreateIndex(
                name: "ix_call_log_conversation_id",
                table: "call_log",
                column: "conversation_id");

            migrationBuilder.CreateIndex(
                name: "ix_call_log_tags",
                table: "call_log",
                column: "tags")
                .Annotation("Npgsql:IndexMethod", "gin");

            migrationBuilder.CreateIndex(
                name: "ix_call_log_user_uuids",
                table: "call_log",
                column: "user_uuids")
                .Annotation("Npgsql:IndexMethod", "gin");

            migrationBuilder.CreateIndex(
                name: "ix_cel_area_id_event_time",
                table: "cel",
                columns: new[] { "area_id", "event_time" });

            migrationBuilder.CreateIndex(
                name: "ix_cel_area_id_linked_id",
                table: "cel",
                columns: new[] { "area_id", "linked_id" });

            migrationBuilder.CreateIndex(
                name: "ix_cel_area_id_unique_id",
                table: "cel",
                columns: new[] { "area_id", "unique_id" });

            migrationBuilder.CreateIndex(
                name: "ix_cel_call_log_id",
                table: "cel",
                column: "call_log_id");

            migrationBuilder.CreateIndex(
                name: "ix_operation_area_id_started_at",
                table: "operation",
                columns: new[] { "area_id", "started_at" });

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_message_id",
                table: "outbox_messages",
                column: "message_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_unpublished",
                table: "outbox_messages",
                column: "id",
                filter: "published_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "area_settings");

            migrationBuilder.DropTable(
                name: "call_log");

            migrationBuilder.DropTable(
                name: "cel");

            migrationBuilder.DropTable(
                name: "directory_user");

            migrationBuilder.DropTable(
                name: "directory_voicemail");

            migrationBuilder.DropTable(
                name: "operation");

            migrationBuilder.DropTable(
                name: "outbox_messages");
        }
    }
}
