using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Profile.Data.Migrations
{
    /// <inheritdoc />
    public partial class AreasAndExportProfiles : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "areas",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    normalized_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_areas", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "export_profiles",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    normalized_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    s3bucket = table.Column<string>(type: "character varying(600)", maxLength: 600, nullable: false),
                    encryption_enabled = table.Column<bool>(type: "boolean", nullable: false),
                    iam_role_arn = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    cmk_key_arn = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    iam_role_external_id = table.Column<string>(type: "character varying(1224)", maxLength: 1224, nullable: true),
                    mask_sensitive_data = table.Column<bool>(type: "boolean", nullable: false),
                    unmasked_characters = table.Column<int>(type: "integer", nullable: false),
                    collect_from = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    collect_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    filters = table.Column<string>(type: "jsonb", nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    version = table.Column<long>(type: "bigint", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_export_profiles", x => x.id);
                    table.ForeignKey(
                        name: "fk_export_profiles_areas_area_id",
                        column: x => x.area_id,
                        principalTable: "areas",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "ix_areas_normalized_name",
                table: "areas",
                column: "normalized_name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_export_profiles_area_id_normalized_name",
                table: "export_profiles",
                columns: new[] { "area_id", "normalized_name" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "export_profiles");

            migrationBuilder.DropTable(
                name: "areas");
        }
    }
}
