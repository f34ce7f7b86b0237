/**
 * The public face of the core: everything a plugin author needs. Plugins import from here
 * and nowhere else in core/.
 */
export { createApp, type AppOptions } from "./app.ts"
export { bearerToken } from "./bearer.ts"
export { buildStreamBodiesOnDemand, type ChunkReader, concatChunks, ownReaderOf, readAll, readerOf, readerResponse, streamReader, streamResponse, webStream } from "./chunk-reader.ts"
export { type ClientWatch, watchClientWith } from "./client-gone.ts"
export { clientAddress, setClientAddress } from "./client-address.ts"
export { Catalog, ModelEntry, ModelPricing, type ProviderPatterns, type ResolvedModel } from "./catalog.ts"
export { type Account, type AdmittedRequest, type Caller, type KeyFailure, type KeyRestrictions, NO_RESTRICTIONS, type Outcome, RequestContext, type ResolvedRequest, revokesKeys, type SpendPeriod, StateKey, type Surface } from "./context.ts"
export { dayOf, modelAllowed, periodStartDay, SPEND_PERIODS } from "./key-rules.ts"
export type { Endpoint, EndpointLeg, Finish, Protocol, ResponseEnd } from "./endpoint.ts"
export * from "./errors.ts"
export { type CooldownReason, KeyPool, type PoolKey } from "./key-pool.ts"
export { sharedKeyPool } from "./shared-key-pool.ts"
export {
  type AccountChanges,
  AccountDirectory,
  type AccountDirectoryShape,
  accountView,
  AuditTrail,
  type AuditTrailShape,
  Balances,
  type BalancesShape,
  type CredentialInfo,
  CredentialVault,
  type CredentialVaultShape,
  findAccount,
  gatherServices,
  type KeyInfo,
  type ManagementServices,
  type ProvidedContext,
  type ProvidedServices,
  RateTiers,
  type RateTiersShape,
  rateTiers,
  requireAccount,
  UsageHistory,
  type UsageHistoryShape
} from "./management.ts"
export { entryOfRequest, keptDetails } from "./audit.ts"
export { migrate } from "./migrate.ts"
export { migratePg, type PgMigrationSql, type PgSchema, type PgTransaction } from "./migrate-pg.ts"
export { type Form, type FormPart, formFields, readForm } from "./multipart.ts"
export { modelObject } from "./models.ts"
export { clientOf, connectPostgres, databaseRefusal, pgMigrationSql, pgTransaction, type Postgres, type PostgresSource, query, sharedPostgres, StoreUnreachable, withinBound } from "./pg-client.ts"
export { connectRedis, type Redis, REDIS_COMMAND_TIMEOUT_MS, redisCall, redisClientOf, type RedisOptions, type RedisSource, sharedRedis } from "./redis-client.ts"
export { localFanout } from "./fanout.ts"
export { redisFanout } from "./redis-fanout.ts"
export { openSealed, seal } from "./seal.ts"
export { SharedClient } from "./shared-client.ts"
export { divRound, formatUsd, MONEY_LIMIT_NANO, NANO_PER_USD, parseUsd, USD_AMOUNT_RULE, withinMoneyLimit } from "./money.ts"
export * from "./ports/index.ts"
export { Pipeline, type PipelineOptions } from "./pipeline.ts"
export {
  definePlugin,
  type Plugin,
  type PluginHooks,
  type ProviderAdapter,
  type RateTier,
  type RelayInfo,
  type RequestObserver,
  type RouteKit,
  type UpstreamCall
} from "./plugin.ts"
export { type ProviderCallOptions, sendProviderCall } from "./provider-call.ts"
export { redact } from "./redact.ts"
export { randomBase62, secretsEqual, sha256Hex } from "./secrets.ts"
export {
  type CoreServices,
  Keyring,
  type KeyringShape,
  Log,
  type LogShape,
  type MasterKey,
  Operator,
  type OperatorShape,
  Sql,
  type SqlShape,
  type SqlStatement,
  type SqlValue,
  UpstreamHttp,
  type UpstreamHttpShape,
  type UpstreamSend
} from "./services.ts"
export { RequestGate } from "./request-gate.ts"
export { STORE_LOCKED, StoreHealth, StoreHealthState, storeRefusal } from "./store-health.ts"
export { AnthropicUsageTap } from "./sse/anthropic-usage-tap.ts"
export { passthrough, type PassthroughHooks, type StreamEnd, type StreamInspector } from "./sse/passthrough.ts"
export { OpenAIUsageTap } from "./sse/usage-tap.ts"
export { messages } from "./surfaces/anthropic-messages.ts"
export { CountTokensRequest, MessagesRequest } from "./surfaces/anthropic-schema.ts"
export { countTokens, promptTextOfMessages } from "./surfaces/count-tokens.ts"
export { chatCompletions } from "./surfaces/openai-chat.ts"
export { ChatCompletionRequest } from "./surfaces/openai-chat-schema.ts"
export { errorBody, errorResponse } from "./surfaces/errors.ts"
export { embeddings } from "./surfaces/embeddings.ts"
export { imageEdits, imageGenerations } from "./surfaces/images.ts"
export { responses, ResponsesRequest } from "./surfaces/responses.ts"
export { continuedFrom, type ResponseKeeper, setContinued, setResponseKeeper } from "./surfaces/responses-state.ts"
export { inputItems } from "./translate/responses-input.ts"
export { describeSchemaError, invalidFromSchema, strictBodyDecoder } from "./surfaces/schema-error.ts"
export { estimatePromptTokens, heuristicCount, outputAllowance, promptParts, type TokenCounter } from "./tokens.ts"
export { sendUpstream, type UpstreamTarget } from "./upstream.ts"
export { emptyUsage, estimateTokens, fromAnthropicUsage, fromImageUsage, fromOpenAIUsage, totalTokens, type Usage } from "./usage.ts"
export { bytesOf, wholeResponse } from "./whole-body.ts"
export { type ArrivedBody, BodyBudget, type BodyPace, DEFAULT_BODY_PACE, readArrivedBodyWith } from "./body.ts"
