/** The PostgreSQL client and its migration adapter live in core (pure JavaScript); kept here for the command line and tests. */
export { connectPostgres, pgMigrationSql, pgTransaction, type Postgres } from "../core/index.ts"
