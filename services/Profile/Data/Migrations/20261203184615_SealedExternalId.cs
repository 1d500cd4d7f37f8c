using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Profile.Data.Migrations
{
    /// <inheritdoc />
    public partial class SealedExternalId : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "iam_role_external_id",
                table: "export_profiles",
                type: "character varying(2048)",
                maxLength: 2048,
                nullable: true,
                oldClrType: typeof(string),
                oldType: "character varying(1224)",
                oldMaxLength: 1224,
                oldNullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "iam_role_external_id",
                table: "export_profiles",
                type: "character varying(1224)",
                maxLength: 1224,
                nullable: true,
                oldClrType: typeof(string),
                oldType: "character varying(2048)",
                oldMaxLength: 2048,
                oldNullable: true);
        }
    }
}
