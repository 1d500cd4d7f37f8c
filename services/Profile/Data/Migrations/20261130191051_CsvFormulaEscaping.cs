using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Profile.Data.Migrations
{
    /// <inheritdoc />
    public partial class CsvFormulaEscaping : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Existing profiles get the safe default; new rows always carry the value the API chose.
            migrationBuilder.AddColumn<bool>(
                name: "escape_csv_formulas",
                table: "export_profiles",
                type: "boolean",
                nullable: false,
                defaultValue: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "escape_csv_formulas",
                table: "export_profiles");
        }
    }
}
