using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Ingest.Data.Migrations
{
    /// <inheritdoc />
    public partial class OutboxBodyText : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "body",
                table: "outbox_messages",
                type: "text",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "json")
                .Annotation("Npgsql:Compression:", "lz4")
                .OldAnnotation("Npgsql:Compression:", "lz4");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // text does not convert to json by itself
            migrationBuilder.Sql("ALTER TABLE outbox_messages ALTER COLUMN body TYPE json USING body::json");
        }
    }
}
