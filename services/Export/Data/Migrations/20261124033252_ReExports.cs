using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Export.Data.Migrations
{
    /// <inheritdoc />
    public partial class ReExports : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "re_export_id",
                table: "export_objects",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "re_exports",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    profile_id = table.Column<Guid>(type: "uuid", nullable: false),
                    started_by = table.Column<string>(type: "text", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    from = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    to = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    objects = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_re_exports", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_export_objects_re_export_id",
                table: "export_objects",
                column: "re_export_id",
                filter: "re_export_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_re_exports_area_id_started_at",
                table: "re_exports",
                columns: new[] { "area_id", "started_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "re_exports");

            migrationBuilder.DropIndex(
                name: "ix_export_objects_re_export_id",
                table: "export_objects");

            migrationBuilder.DropColumn(
                name: "re_export_id",
                table: "export_objects");
        }
    }
}
