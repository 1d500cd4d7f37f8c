using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Ingest.Data.Migrations
{
    /// <inheritdoc />
    public partial class CallRecordsAsJsonWithOneIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // One unique index serves both the uniqueness of a record and the newest-first keyset reads (scanned
            // backwards); the record is kept as the JSON text it was written as (read back whole, never queried into).
            migrationBuilder.Sql("""
                DROP INDEX ix_call_records_area_time;
                ALTER TABLE call_records DROP CONSTRAINT pk_call_records;
                ALTER TABLE call_records ADD CONSTRAINT pk_call_records PRIMARY KEY (area_id, request_time, request_uuid);
                ALTER TABLE call_records ALTER COLUMN record TYPE json USING record::json;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                ALTER TABLE call_records ALTER COLUMN record TYPE jsonb USING record::jsonb;
                ALTER TABLE call_records DROP CONSTRAINT pk_call_records;
                ALTER TABLE call_records ADD CONSTRAINT pk_call_records PRIMARY KEY (area_id, request_uuid, request_time);
                CREATE INDEX ix_call_records_area_time ON call_records (area_id, request_time DESC, request_uuid DESC);
                """);
        }
    }
}
