import type { PgSchema } from "../core/index.ts"
import { AUDIT_PG_SCHEMA } from "../plugins/audit-log/index.ts"
import { LEDGER_PG_SCHEMA, USAGE_PG_SCHEMA } from "../plugins/billing/index.ts"
import { CONSOLE_PG_SCHEMA } from "../plugins/console/index.ts"
import { KEYS_PG_SCHEMA } from "../plugins/keys/index.ts"
import { LIMITER_PG_SCHEMA } from "../plugins/limiter/index.ts"
import { RESPONSES_PG_SCHEMA } from "../plugins/responses/index.ts"
import { VAULT_PG_SCHEMA } from "../plugins/vault/index.ts"

/**
 * The PostgreSQL tables of every shipped plugin that keeps state, migrated together at start
 * (and before a store copy, which moves their rows in this order).
 */
export const PG_SCHEMAS: ReadonlyArray<PgSchema> = [KEYS_PG_SCHEMA, LIMITER_PG_SCHEMA, LEDGER_PG_SCHEMA, USAGE_PG_SCHEMA, VAULT_PG_SCHEMA, RESPONSES_PG_SCHEMA, AUDIT_PG_SCHEMA, CONSOLE_PG_SCHEMA]
