/**
 * What a config file may use: the plugin factories, their stores, the shipped defaults, and
 * (for a config beside the single executable) core and Effect. A config declared as a function
 * receives all of it as its argument (see ConfigKit).
 */
export { DEFAULT_MODELS, RELAY_TIERS } from "./defaults.ts"
export type { ConfigEnv } from "./env.ts"
export type { RelayConfigInput } from "./schema.ts"
export { PG_SCHEMAS } from "./pg-schemas.ts"
export { type SharedStoreOptions, type StoreChoice, stores } from "./stores.ts"
export { auditLog, type AuditLogOptions, sqliteAuditLog } from "../plugins/audit-log/index.ts"
export { billing, type BillingOptions, sqliteBilling } from "../plugins/billing/index.ts"
export { type ConsoleOptions, memoryConsoleSessions, webConsole } from "../plugins/console/index.ts"
export { docs, type DocsOptions } from "../plugins/docs/index.ts"
export { keys, type KeysOptions, sqliteAccounts } from "../plugins/keys/index.ts"
export { limiter, type LimiterOptions, memoryRateWindows, sqliteAccountLimits } from "../plugins/limiter/index.ts"
export { ANTHROPIC_PATTERNS, anthropic, type AnthropicOptions } from "../plugins/providers/anthropic/index.ts"
export { metrics, type MetricsOptions } from "../plugins/metrics/index.ts"
export { echo, type EchoOptions } from "../plugins/providers/echo/index.ts"
export { GOOGLE_PATTERNS, google, type GoogleOptions } from "../plugins/providers/google/index.ts"
export { OPENAI_PATTERNS, openai, type OpenAIOptions } from "../plugins/providers/openai/index.ts"
export { providerRegistry } from "../plugins/providers/registry/index.ts"
export { responseStore, type ResponseStoreOptions } from "../plugins/responses/index.ts"
export { rocketAIRoom } from "../plugins/rocketairoom/index.ts"
export { tokenizer, tokenizerCounting, type TokenizerOptions } from "../plugins/tokenizer/index.ts"
export { sqliteCredentials, vault, type VaultOptions } from "../plugins/vault/index.ts"
/**
 * For plugins declared in a config beside the single executable, which cannot import core/ or
 * effect from disk: they take these from the config function's argument instead.
 */
export * as core from "../core/index.ts"
export { Effect, Layer } from "effect"
