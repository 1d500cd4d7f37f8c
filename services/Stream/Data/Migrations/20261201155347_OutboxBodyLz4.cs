using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Stream.Data.Migrations
{
    /// <inheritdoc />
    public partial class OutboxBodyLz4 : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "body",
                table: "outbox_messages",
                type: "json",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "json")
                .Annotation("Npgsql:Compression:", "lz4");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "body",
                table: "outbox_messages",
                type: "json",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "json")
                .OldAnnotation("Npgsql:Compression:", "lz4");
        }
    }
}
