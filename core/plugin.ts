import type { Effect } from "effect"
import type { Context as HonoContext, Hono, MiddlewareHandler } from "hono"
import type { ModelEntry } from "./catalog.ts"
import type { Account, Caller, Outcome, RequestContext, Surface } from "./context.ts"
import type { RelayError } from "./errors.ts"
import type { CoreServices } from "./services.ts"
import type { TokenCounter } from "./tokens.ts"

/** The wire protocol an upstream speaks. */
export type Protocol = "openai" | "anthropic"

export interface UpstreamCall {
  readonly ctx: RequestContext
  readonly protocol: Protocol
  /** Path below the provider's API root, such as `/chat/completions`. */
  readonly path: string
  readonly body: Uint8Array<ArrayBuffer> | string
}

/** A provider adapter: how one upstream is reached. */
export interface ProviderAdapter {
  readonly name: string
  /** Model-name globs (`gpt-*`) that route uncatalogued models to this provider. */
  readonly patterns: ReadonlyArray<string>
  /** The protocols it speaks, preferred first. */
  readonly protocols: ReadonlyArray<Protocol>
  /** Needs no credential at all (the offline echo provider), on BYOK routes neither. */
  readonly keyless?: boolean
  /**
   * Sends the call and answers the upstream's response once its headers arrived (status < 400:
   * failures are typed errors). On `/byok/v1` (`ctx.byok`) it must use `ctx.credential` and
   * nothing else.
   */
  send(call: UpstreamCall): Effect.Effect<Response, RelayError>
}

export interface RateTier {
  readonly rpm: number
  readonly tpm: number
}

/** What a plugin learns about the relay it is part of when it is set up. */
export interface RelayInfo {
  /** The configured provider adapters; complete once every plugin is set up. */
  readonly providers: () => ReadonlyArray<ProviderAdapter>
  readonly models: ReadonlyArray<ModelEntry>
  readonly tiers: Readonly<Record<string, RateTier>>
  readonly defaultTier: string
}

/** A relay key as lists show it (the admin API's shape): never the key itself. */
export interface KeyInfo {
  readonly id: string
  readonly account_id: string
  readonly name: string | null
  /** The key's first characters, to tell keys apart. */
  readonly prefix: string
  readonly created_at: string
  readonly revoked_at: string | null
}

/** Changes to an account: its tier, and per-account limits (`null` clears an override). */
export interface AccountChanges {
  readonly tier?: string | undefined
  readonly rpm?: number | null | undefined
  readonly tpm?: number | null | undefined
}

/**
 * Accounts and relay keys, offered by the plugin that keeps them. The admin API, the console
 * and the command line all manage accounts through it, so each rule lives in one place.
 */
export interface AccountDirectory {
  readonly list: () => ReadonlyArray<Account>
  /** Opens an account on `tier` (the default tier when undefined); an unknown tier is refused. */
  readonly create: (name: string, tier: string | undefined) => Account | RelayError
  readonly update: (id: string, changes: AccountChanges) => Account | RelayError
  /** The account's keys, revoked ones included; undefined when there is no such account. */
  readonly keys: (accountId: string) => ReadonlyArray<KeyInfo> | undefined
  /** Issues a key; its plaintext is in this answer only. */
  readonly issueKey: (accountId: string, name: string | null) => Promise<{ readonly key: string; readonly info: KeyInfo } | RelayError>
  /**
   * Revokes an active key, effective on the next request; with `accountId`, only a key of that
   * account. False when there was no such active key.
   */
  readonly revokeKey: (keyId: string, accountId?: string) => boolean
  /** Who holds this relay key, if it is active (a sign-in with the key itself). */
  readonly callerForKey: (key: string) => Promise<Caller | undefined>
  /** Who holds the key with this id, while it stays active (a session re-checked without the key). */
  readonly callerForKeyId: (keyId: string) => Caller | undefined
}

/** One usage record as the account API shows it (SPEC section 5). */
export interface UsageRecordView {
  readonly id: string
  readonly created_at: string
  readonly surface: string
  readonly model: string
  readonly provider: string | null
  readonly byok: boolean
  readonly status: number
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly cached_tokens: number
  readonly cache_write_tokens: number
  readonly image_input_tokens: number
  readonly image_output_tokens: number
  /** USD as a decimal string. */
  readonly cost: string
  readonly usage_source: string
  readonly latency_ms: number
  readonly ttfb_ms: number | null
}

/** An account's usage history, offered by the plugin that records it (billing). */
export interface UsageHistory {
  /** The newest `limit` records, newest first. */
  readonly list: (accountId: string, limit: number) => ReadonlyArray<UsageRecordView>
  /**
   * Spend per UTC day (`YYYY-MM-DD`, nano-USD) over the last `days` days including today,
   * oldest first; days without usage are left out.
   */
  readonly dailySpend: (accountId: string, days: number) => ReadonlyArray<{ readonly day: string; readonly cost: bigint }>
}

/** A stored BYOK credential as it is shown: its provider and a hint, never the key. */
export interface CredentialInfo {
  readonly provider: string
  readonly key_hint: string
  readonly created_at: string
}

/** The accounts' own provider keys, offered by the plugin that seals them (vault). */
export interface CredentialVault {
  /** Providers a credential may be stored for. */
  readonly providers: () => ReadonlyArray<string>
  readonly list: (accountId: string) => ReadonlyArray<CredentialInfo>
  /** Seals and stores `apiKey`, replacing an earlier one; a bad provider or key is refused. */
  readonly put: (accountId: string, provider: string, apiKey: unknown) => Promise<CredentialInfo | RelayError>
  /** False when there was nothing to delete. */
  readonly remove: (accountId: string, provider: string) => boolean
  /**
   * Re-seals every credential under the current master key, after making a new one when the
   * relay keeps its own key file (`generated`).
   */
  readonly rotate: () => Promise<{ readonly key_id: string; readonly generated: boolean; readonly resealed: number } | RelayError>
}

/**
 * Watches requests without taking part in them (metrics). Called synchronously; it must be
 * cheap and must not throw.
 */
export interface RequestObserver {
  /** A streamed response has started towards the client; `settled` follows when it ends. */
  readonly streamOpened?: (ctx: RequestContext) => void
  /**
   * Once per request, after every settle hook ran: what they recorded (`ctx.charged`) is
   * there to read.
   */
  readonly settled: (ctx: RequestContext, outcome: Outcome) => void
}

/**
 * What the plugins offer for managing the relay, gathered from all of them: the admin API,
 * the console and the command line use it alike. A part is undefined when no configured
 * plugin offers it.
 */
export interface Management {
  /** An account as the account and admin APIs show it, with every plugin's fields. */
  readonly accountView: (account: Account) => Record<string, unknown>
  /** An account by id, from the plugin that keeps accounts. */
  readonly findAccount: (id: string) => Account | undefined
  /** Adds credit to an account, when a plugin keeps balances (billing); else undefined. */
  readonly credit: ((accountId: string, amount: bigint, note: string | null) => void) | undefined
  readonly accounts: AccountDirectory | undefined
  readonly usage: UsageHistory | undefined
  readonly vault: CredentialVault | undefined
}

/** Helpers for plugins that add HTTP routes, and the management the plugins offer. */
export interface RouteKit extends Management {
  /** Guards admin routes: 404 when no admin key is configured, 401 for a wrong one. */
  readonly requireAdmin: MiddlewareHandler
  /** An error response in the given surface's shape. */
  readonly errorResponse: (c: HonoContext, error: RelayError, surface?: Surface) => Response
  /** The JSON object body of a request (`{}` when empty), or an error to answer with. */
  readonly readJson: (c: HonoContext) => Promise<Record<string, unknown> | RelayError>
  /** Who calls a non-proxied route (the account API), by the authenticating plugins. */
  readonly authenticate: (c: HonoContext) => Promise<Caller | RelayError>
  /** Whether `secret` is the admin key (false when none is configured): a sign-in form's check. */
  readonly isAdminKey: (secret: string) => boolean
}

/**
 * What a plugin does, produced once at start-up by its setup. Every field is optional.
 * Request steps run in config order; settle hooks run in reverse config order.
 */
export interface PluginHooks {
  /** Says who is calling (sets `ctx.caller`); runs before the model is resolved. */
  readonly authenticate?: (ctx: RequestContext) => Effect.Effect<void, RelayError>
  /** Admits or refuses the request once caller and model are known (limits, balance, credential). */
  readonly admit?: (ctx: RequestContext) => Effect.Effect<void, RelayError>
  /**
   * Runs exactly once for every request that entered the pipeline, whatever its end: success,
   * an error (also one raised before this plugin's own step ran), or the client going away.
   */
  readonly settle?: (ctx: RequestContext, outcome: Outcome) => Effect.Effect<void>
  readonly provider?: ProviderAdapter
  readonly routes?: (app: Hono, kit: RouteKit) => void
  /** Fields this plugin adds to an account's JSON (the billing plugin adds the balance). */
  readonly accountView?: (account: Account) => Record<string, unknown>
  /** Looks an account up by id (the plugin that keeps accounts). */
  readonly findAccount?: (id: string) => Account | undefined
  /** Adds credit to an account's balance (the billing plugin). */
  readonly credit?: (accountId: string, amount: bigint, note: string | null) => void
  /** Counts prompt tokens for admission estimates; the first plugin that offers one is used. */
  readonly countTokens?: TokenCounter
  /** Account and key management (the plugin that keeps accounts); the first one is used. */
  readonly accounts?: AccountDirectory
  /** Usage history (the plugin that records usage); the first one is used. */
  readonly usage?: UsageHistory
  /** BYOK credential management (the plugin that stores them); the first one is used. */
  readonly vault?: CredentialVault
  /** Watches every request (metrics). */
  readonly observe?: RequestObserver
  /** Runs after every plugin is set up (the first-run bootstrap). */
  readonly start?: Effect.Effect<void, never, CoreServices>
}

export interface Plugin {
  readonly name: string
  readonly setup: (info: RelayInfo) => Effect.Effect<PluginHooks, never, CoreServices>
}

/** Declares a plugin; the value goes into the `plugins` list of `relay.config.ts`. */
export const definePlugin = (
  name: string,
  setup: (info: RelayInfo) => Effect.Effect<PluginHooks, never, CoreServices>
): Plugin => ({ name, setup })
