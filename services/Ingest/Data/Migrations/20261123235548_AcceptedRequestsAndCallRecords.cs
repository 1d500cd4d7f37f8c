using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Ingest.Data.Migrations
{
    /// <inheritdoc />
    public partial class AcceptedRequestsAndCallRecords : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Call records, partitioned by day of request_time; partitions are created on demand by the store.
            migrationBuilder.Sql("""
                CREATE TABLE call_records (
                    area_id uuid NOT NULL,
                    request_time timestamptz NOT NULL,
                    request_uuid text NOT NULL,
                    ingestion_time bigint NOT NULL,
                    api_key text,
                    service_id text,
                    service_name text,
                    endpoint_name text,
                    http_status_code integer,
                    src_ip text,
                    record jsonb NOT NULL,
                    CONSTRAINT pk_call_records PRIMARY KEY (area_id, request_uuid, request_time)
                ) PARTITION BY RANGE (request_time);
                CREATE INDEX ix_call_records_area_time ON call_records (area_id, request_time DESC, request_uuid DESC);
                """);
            migrationBuilder.CreateTable(
                name: "accepted_requests",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    request_uuid = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    accepted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_accepted_requests", x => new { x.area_id, x.request_uuid });
                });

            migrationBuilder.CreateTable(
                name: "area_retention",
                columns: table => new
                {
                    area_id = table.Column<Guid>(type: "uuid", nullable: false),
                    days = table.Column<int>(type: "integer", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_area_retention", x => x.area_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_accepted_requests_accepted_at",
                table: "accepted_requests",
                column: "accepted_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TABLE IF EXISTS call_records;");
            migrationBuilder.DropTable(
                name: "accepted_requests");

            migrationBuilder.DropTable(
                name: "area_retention");
        }
    }
}
