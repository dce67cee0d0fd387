// The PostgreSQL schema of graphopt's shared stores (jobs, events, models, blobs) as numbered
// migrations, applied at start-up under an advisory lock so replicas starting together apply
// each migration exactly once.
#pragma once

#include "optimizer/util/status.h"
#include "server/store/postgres_connection.h"

namespace graphopt::server {

// The newest schema version this build knows.
int LatestPostgresSchemaVersion();

// Brings the database to LatestPostgresSchemaVersion(). Safe to call from any number of
// processes at once; kFailedPrecondition when the database is newer than this build.
Status MigratePostgresSchema(PgConnection& conn);

// The version recorded in the database (0: none).
Result<int> PostgresSchemaVersion(PgConnection& conn);

}  // namespace graphopt::server
