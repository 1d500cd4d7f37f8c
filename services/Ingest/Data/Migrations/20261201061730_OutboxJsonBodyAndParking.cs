using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Ingest.Data.Migrations
{
    /// <inheritdoc />
    public partial class OutboxJsonBodyAndParking : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_outbox_messages_unpublished",
                table: "outbox_messages");

            migrationBuilder.AlterColumn<string>(
                name: "body",
                table: "outbox_messages",
                type: "json",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "jsonb");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "parked_at",
                table: "outbox_messages",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_unpublished",
                table: "outbox_messages",
                column: "id",
                filter: "published_at IS NULL AND parked_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_outbox_messages_unpublished",
                table: "outbox_messages");

            migrationBuilder.DropColumn(
                name: "parked_at",
                table: "outbox_messages");

            migrationBuilder.AlterColumn<string>(
                name: "body",
                table: "outbox_messages",
                type: "jsonb",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "json");

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_unpublished",
                table: "outbox_messages",
                column: "id",
                filter: "published_at IS NULL");
        }
    }
}
