import type { ResolvedModel } from "./catalog.ts"
import type { RelayError } from "./errors.ts"
import { appendTopLevel, editTopLevel } from "./json-edit.ts"
import type { FormPart } from "./multipart.ts"
import { Effect } from "effect"
import { heuristicTokenCounting, type TokenCountingShape } from "./ports/token-counting.ts"
import { heuristicCount, outputAllowance, promptParts, requestedOutputLimit } from "./tokens.ts"
import type { Usage } from "./usage.ts"

/** The API shape a caller speaks, which decides how its errors and bodies look. */
export type Surface = "openai" | "anthropic"

export interface Account {
  readonly id: string
  readonly name: string
  /** Its rate-limit tier; per-account overrides of it are the limiter's (AccountLimits). */
  readonly tier: string
  /** Set while the account is suspended: every key of it is refused until it is resumed. */
  readonly suspendedAt?: number | null
}

/** A spend limit's period: a UTC day, an ISO week (from Monday) or a calendar month. */
export type SpendPeriod = "day" | "week" | "month"

/**
 * What one relay key may do, narrower than its account (SPEC section 15). Every field is
 * optional (`null`): a key without restrictions may do all its account may.
 */
export interface KeyRestrictions {
  /** Spend cap in nano-USD over `spendPeriod` (lifetime when that is null). */
  readonly spendLimit: bigint | null
  readonly spendPeriod: SpendPeriod | null
  /** Model ids or globs (`claude-*`) the key may call. */
  readonly models: ReadonlyArray<string> | null
  /** Epoch ms after which the key is refused (401 key_expired). */
  readonly expiresAt: number | null
  /** The key's own per-minute limits, applied within its account's. */
  readonly rpm: number | null
  readonly tpm: number | null
  /** Free-form JSON object the operator or user attaches (a team, a job). */
  readonly metadata: Readonly<Record<string, unknown>> | null
}

export const NO_RESTRICTIONS: KeyRestrictions = {
  spendLimit: null,
  spendPeriod: null,
  models: null,
  expiresAt: null,
  rpm: null,
  tpm: null,
  metadata: null
}

/** Who is calling: set by the authenticating plugin. */
export interface Caller {
  readonly account: Account
  readonly keyId: string
  /** The key's own restrictions; absent means none. */
  readonly key?: KeyRestrictions
}

/**
 * Whether a caller may revoke its account's keys: only with a key of no restrictions, so that
 * a restricted key (a CI job's, say) cannot revoke the key it was made beside, its parent.
 */
export const revokesKeys = (caller: Caller): boolean => caller.key === undefined || Object.values(caller.key).every((value) => value === null)

/** A pool key that failed while a request failed over to the next one, named by its slot. */
export interface KeyFailure {
  readonly provider: string
  /** The operator's shared pool, or the caller's own key (BYOK). */
  readonly owner: "shared" | "caller"
  readonly slot: number
  readonly reason: "connection" | "rate_limited" | "server_error" | "rejected"
}

/** How a request ended, as every plugin sees it at settle. */
export interface Outcome {
  /** The status the client received (0 when it went away before any). */
  readonly status: number
  readonly error: RelayError | undefined
  /** The client disconnected before the response was complete. */
  readonly aborted: boolean
  readonly usage: Usage | undefined
  readonly latencyMs: number
  readonly ttfbMs: number | undefined
}

/**
 * A typed slot of per-request state: what one module (a plugin, a surface) records on a request
 * for its own later steps. Only the holder of the key reads or writes its slot, with its type.
 */
export class StateKey<A> {
  declare private readonly slot: A
  constructor(readonly name: string) {}
}

/**
 * A request whose model is resolved to a catalog entry and a configured provider: what an
 * endpoint's check and legs work on, so they read its target without asserting it.
 */
export type ResolvedRequest = RequestContext & { readonly target: ResolvedModel }

/**
 * A known caller's resolved request, its prompt counted: what the admit steps judge, with the
 * caller and the model present by type.
 */
export type AdmittedRequest = ResolvedRequest & { readonly caller: Caller }

/** No bytes: the body before it is read, and after a stream has let go of it. Shared, as it cannot change. */
export const NO_BYTES: Uint8Array<ArrayBuffer> = new Uint8Array()

/**
 * One request as it moves through the pipeline. Plugins read it and add to it; each plugin
 * keeps its own per-request data in a slot of its own (`get`/`set` with its StateKey).
 */
export class RequestContext {
  readonly startedAt = performance.now()
  readonly createdAt = Date.now()
  /** Headers every response to this request carries (rate-limit headers, for instance). */
  readonly responseHeaders = new Headers()
  private readonly state = new Map<StateKey<unknown>, unknown>()
  caller: Caller | undefined
  model = ""
  stream = false
  /** The decoded JSON body; what goes upstream is `upstreamBody()`. */
  body: Record<string, unknown> = {}
  rawBody: Uint8Array<ArrayBuffer> = NO_BYTES
  /** Set when a leg replaced `body` as a whole (a translation): it goes upstream re-serialised. */
  bodyChanged = false
  /** Top-level fields changed by `setBodyField` (undefined: removed), written into `rawBody`'s own text. */
  private bodyEdits: Map<string, unknown> | undefined
  /** Whether every edit adds a field the client's body did not have. */
  private bodyEditsAddOnly = true
  /** An upload's form parts, located in `rawBody`. */
  form: ReadonlyArray<FormPart> | undefined
  /** The content type of the body sent upstream (an upload forwards its multipart form). */
  contentType = "application/json"
  /**
   * Output the request may produce when it is not text capped by max_tokens: an image
   * request's image tokens, an embedding's none. Set by the endpoint; admission reserves it.
   */
  reservedOutput: { readonly completionTokens: number; readonly imageOutputTokens: number } | undefined
  target: ResolvedModel | undefined
  /** On `/byok/v1`: the caller's own provider key, set by the vault plugin. */
  credential: string | undefined
  ttfbMs: number | undefined
  usage: Usage | undefined
  /** Upstream keys that failed on the way (failover), for observers such as metrics. */
  readonly keyFailures: Array<KeyFailure> = []
  /** What the request was charged in nano-USD, recorded at settle by the plugin that keeps balances. */
  charged: bigint | undefined
  /** Set by the pipeline when the request has been settled: settle happens exactly once. */
  settled = false

  constructor(
    readonly id: string,
    readonly surface: Surface,
    /** The route template, such as `/v1/chat/completions`. */
    readonly route: string,
    readonly request: Request,
    /** True on `/byok/v1/...`: the caller's own credentials, never the shared pool. */
    readonly byok: boolean,
    private readonly tokens: TokenCountingShape = heuristicTokenCounting
  ) {}

  private promptEstimate: number | undefined

  /** What the key's holder recorded on this request, if anything. */
  get<A>(key: StateKey<A>): A | undefined {
    return this.state.get(key) as A | undefined
  }

  set<A>(key: StateKey<A>, value: A): void {
    this.state.set(key, value)
  }

  has(key: StateKey<unknown>): boolean {
    return this.state.has(key)
  }

  /**
   * Counts the prompt's estimated size through the TokenCounting port, once per request: the
   * pipeline does before admission, so every later step reads it with `estimatedPromptTokens`.
   */
  countPrompt(): Effect.Effect<number> {
    if (this.promptEstimate !== undefined) return Effect.succeed(this.promptEstimate)
    const parts = promptParts(this.body)
    return Effect.map(this.tokens.count(parts.text, this.target?.upstreamModel ?? this.model), (counted) => {
      this.promptEstimate = counted + parts.extraTokens
      return this.promptEstimate
    })
  }

  /**
   * The prompt's estimated size as `countPrompt` counted it; uncounted (a relay that neither
   * admits nor has a counter of a plugin's, a context built by hand), at four characters a token.
   */
  estimatedPromptTokens(): number {
    if (this.promptEstimate !== undefined) return this.promptEstimate
    const parts = promptParts(this.body)
    return heuristicCount(parts.text, this.target?.upstreamModel ?? this.model) + parts.extraTokens
  }

  /** Changes one top-level field of the body sent upstream; undefined removes it. */
  setBodyField(name: string, value: unknown): void {
    if (value === undefined || name in this.body) this.bodyEditsAddOnly = false
    if (value === undefined) delete this.body[name]
    else this.body[name] = value
    ;(this.bodyEdits ??= new Map()).set(name, value)
  }

  /**
   * The body sent upstream: `body` re-serialised when a leg replaced it, else the client's own
   * bytes with only the fields the relay set rewritten (see editTopLevel).
   */
  upstreamBody(): string | Uint8Array<ArrayBuffer> {
    if (this.bodyChanged) return JSON.stringify(this.body)
    if (this.bodyEdits === undefined) return this.rawBody
    const edited = this.bodyEditsAddOnly ? appendTopLevel(this.rawBody, this.bodyEdits) : editTopLevel(this.rawBody, this.bodyEdits)
    return edited ?? JSON.stringify(this.body)
  }

  /** The output tokens admission reserves: the endpoint's own figure, else text up to the caps. */
  outputReservation(fallback: number): { readonly completionTokens: number; readonly imageOutputTokens: number } {
    return this.reservedOutput ?? {
      completionTokens: outputAllowance(this.body, this.target?.entry?.maxOutputTokens, fallback),
      imageOutputTokens: 0
    }
  }

  /** Whether the output reservation is the request's own figure, not the model's whole cap. */
  outputLimitGiven(): boolean {
    return this.reservedOutput !== undefined || requestedOutputLimit(this.body) !== undefined
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt
  }
}
