using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CallLogs.Ingest.Data.Migrations
{
    /// <inheritdoc />
    public partial class CallRecordsPartitionedByExpiry : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "rehome_pending",
                table: "area_retention",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            // call_records partitioned by the day its rows expire instead of the day of request_time: expiry is dropping
            // the partitions whose day has come, for every area whatever its retention, never row-by-row deletes. The rows
            // already stored move over with the expiry of their area's setting (30 days, the default when this was
            // written, for areas without one), in the partitions they need.
            migrationBuilder.Sql("""
                ALTER TABLE call_records RENAME TO call_records_by_day;
                ALTER TABLE call_records_by_day RENAME CONSTRAINT pk_call_records TO pk_call_records_by_day;
                CREATE TABLE call_records (
                    area_id uuid NOT NULL,
                    request_time timestamptz NOT NULL,
                    request_uuid text NOT NULL,
                    expires_on date NOT NULL,
                    ingestion_time bigint NOT NULL,
                    api_key text,
                    service_id text,
                    service_name text,
                    endpoint_name text,
                    http_status_code integer,
                    src_ip text,
                    record json NOT NULL,
                    CONSTRAINT pk_call_records PRIMARY KEY (area_id, request_time, request_uuid, expires_on)
                ) PARTITION BY RANGE (expires_on);
                CREATE TEMP TABLE call_records_moving ON COMMIT DROP AS
                    SELECT c.*, (c.request_time AT TIME ZONE 'UTC')::date + LEAST(COALESCE(r.days, 30), 731) + 1 AS new_expires_on
                    FROM call_records_by_day c LEFT JOIN area_retention r ON r.area_id = c.area_id;
                DO $$
                DECLARE day date;
                BEGIN
                    FOR day IN SELECT DISTINCT new_expires_on FROM call_records_moving LOOP
                        EXECUTE format('CREATE TABLE %I PARTITION OF call_records FOR VALUES FROM (%L) TO (%L)',
                            'call_records_e' || to_char(day, 'YYYYMMDD'), day, day + 1);
                    END LOOP;
                END $$;
                INSERT INTO call_records (area_id, request_time, request_uuid, expires_on, ingestion_time, api_key, service_id, service_name,
                        endpoint_name, http_status_code, src_ip, record)
                    SELECT area_id, request_time, request_uuid, new_expires_on, ingestion_time, api_key, service_id, service_name,
                        endpoint_name, http_status_code, src_ip, record
                    FROM call_records_moving;
                DROP TABLE call_records_by_day;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                ALTER TABLE call_records RENAME TO call_records_by_expiry;
                ALTER TABLE call_records_by_expiry RENAME CONSTRAINT pk_call_records TO pk_call_records_by_expiry;
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
                    record json NOT NULL,
                    CONSTRAINT pk_call_records PRIMARY KEY (area_id, request_time, request_uuid)
                ) PARTITION BY RANGE (request_time);
                DO $$
                DECLARE day date;
                BEGIN
                    FOR day IN SELECT DISTINCT (request_time AT TIME ZONE 'UTC')::date FROM call_records_by_expiry LOOP
                        EXECUTE format('CREATE TABLE %I PARTITION OF call_records FOR VALUES FROM (%L) TO (%L)',
                            'call_records_p' || to_char(day, 'YYYYMMDD'), day, day + 1);
                    END LOOP;
                END $$;
                INSERT INTO call_records SELECT area_id, request_time, request_uuid, ingestion_time, api_key, service_id, service_name,
                    endpoint_name, http_status_code, src_ip, record FROM call_records_by_expiry ON CONFLICT DO NOTHING;
                DROP TABLE call_records_by_expiry;
                """);
            migrationBuilder.DropColumn(
                name: "rehome_pending",
                table: "area_retention");
        }
    }
}
