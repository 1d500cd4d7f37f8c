using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Export.Data.Migrations
{
    /// <inheritdoc />
    public partial class StagedValuesAndFilterColumns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "api_key",
                table: "staged_records",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "http_status_code",
                table: "staged_records",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "service_id",
                table: "staged_records",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "service_name",
                table: "staged_records",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string[]>(
                name: "values",
                table: "staged_records",
                type: "text[]",
                nullable: false,
                defaultValue: new string[0]);

            // Records staged before this version keep their data: the filter columns and the CSV values come out of the JSON.
            migrationBuilder.Sql("""
                UPDATE staged_records SET api_key = record->>'api_key', service_id = record->>'service_id', service_name = record->>'service_name',
                    http_status_code = (record->>'http_status_code')::integer,
                    values = ARRAY[record->>'request_uuid', record->>'request_id', record->>'request_time', record->>'api_key', record->>'oauth_access_token', record->>'api_method_name', record->>'service_id', record->>'service_name', record->>'endpoint_name', record->>'service_definition_endpoint_uuid', record->>'package_name', record->>'package_uuid', record->>'plan_name', record->>'plan_uuid', record->>'org_name', record->>'org_uuid', record->>'sub_org_name', record->>'sub_org_uuid', record->>'http_method', record->>'http_version', record->>'http_status_code', record->>'response_string', record->>'traffic_manager', record->>'traffic_manager_error_code', record->>'src_ip', record->>'user_agent', record->>'referrer', record->>'request_host_name', record->>'uri', record->>'bytes', record->>'cache_hit', record->>'ssl_enabled', record->>'connect_time', record->>'pre_transfer_time', record->>'remote_total_time', record->>'client_transfer_time', record->>'total_request_exec_time', record->>'qps_throttle_value', record->>'quota_value', record->>'ingestion_time']
                """);

            migrationBuilder.DropColumn(
                name: "record",
                table: "staged_records");

            migrationBuilder.CreateIndex(
                name: "ix_staged_records_area_id_received_at",
                table: "staged_records",
                columns: new[] { "area_id", "received_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_staged_records_area_id_received_at",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "api_key",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "http_status_code",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "service_id",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "service_name",
                table: "staged_records");

            migrationBuilder.DropColumn(
                name: "values",
                table: "staged_records");

            migrationBuilder.AddColumn<string>(
                name: "record",
                table: "staged_records",
                type: "jsonb",
                nullable: false,
                defaultValue: "");
        }
    }
}
