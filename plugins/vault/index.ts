import { Context, Effect, type Layer, Result, Schema } from "effect"
import {
  ByokCredentialMissing,
  type CoreServices,
  Credentials,
  CredentialVault,
  type CredentialVaultShape,
  definePlugin,
  Fanout,
  localFanout,
  Internal,
  InvalidRequest,
  invalidFromSchema,
  Keyring,
  Log,
  type RelayError,
  RouteNotFound,
  type StoredCredential,
  buildStore,
  openSealed as open,
  seal
} from "../../core/index.ts"
import { sqliteCredentials } from "./sqlite.ts"

export { VAULT_PG_SCHEMA } from "./schema-pg.ts"
export { postgresCredentials } from "./postgres.ts"
export { sqliteCredentials } from "./sqlite.ts"

export interface VaultOptions {
  /** How long a decrypted credential stays in memory; short, so a secret is not kept around. */
  readonly cacheSeconds?: number
  /** Where sealed credentials are stored: a Credentials port implementation; the relay's SQLite store unless given. */
  readonly store?: Layer.Layer<Credentials, never, CoreServices>
  /** How a credential replaced or removed here leaves the other nodes' caches at once: this process alone unless given. */
  readonly fanout?: Layer.Layer<Fanout, never, CoreServices>
}

const PutCredential = Schema.Struct({
  api_key: Schema.String.check(
    Schema.isMinLength(8),
    Schema.isMaxLength(4096),
    Schema.isPattern(/^\S+$/, { message: "an API key without spaces" })
  )
})
const decodePut = Schema.decodeUnknownResult(PutCredential)

/** Additional data binding a sealed credential to its account and provider. */
const contextOf = (account: string, provider: string) => `byok:${account}:${provider}`

/** The answer of a step that answers its refusal as a value, with the refusal as its failure. */
const refusing = <A>(run: () => Promise<A>): Effect.Effect<Exclude<A, RelayError>, Extract<A, RelayError>> =>
  Effect.flatMap(Effect.promise(run), (value) =>
    value instanceof Error ? Effect.fail(value as Extract<A, RelayError>) : Effect.succeed(value as Exclude<A, RelayError>))

const view = (credential: StoredCredential) => ({
  provider: credential.provider,
  key_hint: `...${credential.hint}`,
  created_at: new Date(credential.createdAt).toISOString()
})

/**
 * The BYOK vault: each account's own provider keys, sealed with AES-256-GCM under the master
 * key, managed through `/v1/account/byok`. On `/byok/v1/...` it hands the request the caller's
 * credential for the model's provider, or refuses with 403 before anything is sent: BYOK
 * traffic never falls back to the shared pool.
 */
export const vault = (options: VaultOptions = {}) =>
  definePlugin("vault", (info) =>
    Effect.gen(function*() {
      const store = yield* buildStore(options.store ?? sqliteCredentials, Context.get(Credentials))
      const keyring = yield* Keyring
      const log = yield* Log
      const cacheMs = (options.cacheSeconds ?? 60) * 1000
      const cache = new Map<string, { secret: string; until: number }>()
      const cacheKey = (account: string, provider: string) => `${account}\u0000${provider}`
      const fanout = yield* buildStore(options.fanout ?? localFanout, Context.get(Fanout))
      // A credential changed on any node leaves every node's cache; after missed messages, all do.
      yield* fanout.subscribe("vault", (key) => (key === undefined ? cache.clear() : cache.delete(key)))
      const forget = (account: string, provider: string) => {
        cache.delete(cacheKey(account, provider))
        Effect.runFork(fanout.publish("vault", cacheKey(account, provider)))
      }

      /**
       * Providers a caller can store a key for: every configured one that needs a key, read from
       * the registry when the relay starts (its adapters are known by then, and do not change).
       */
      let keyed: ReadonlyArray<string> = []
      const keyedProviders = () => keyed

      const credentialFor = async (requestId: string, account: string, provider: string) => {
        const key = cacheKey(account, provider)
        const hit = cache.get(key)
        if (hit !== undefined && hit.until > Date.now()) return hit.secret
        const stored = await Effect.runPromise(store.get(account, provider))
        if (stored === undefined) return undefined
        try {
          const secret = await open(keyring, stored.sealed, contextOf(account, provider))
          cache.set(key, { secret, until: Date.now() + cacheMs })
          return secret
        } catch (error) {
          log.error({ request_id: requestId, account, provider, error: error instanceof Error ? error.message : String(error) }, "stored credential could not be opened")
          return new Internal({ message: `the stored ${provider} credential could not be decrypted; store it again` })
        }
      }

      const credentials: CredentialVaultShape = {
        providers: keyedProviders,

        list: (account) => Effect.map(store.list(account), (stored) => stored.map(view)),

        put: (account, provider, apiKey) => {
          if (!keyedProviders().includes(provider)) {
            return Effect.fail(new InvalidRequest({ message: `unknown provider "${provider}"; one of: ${keyedProviders().join(", ")}`, param: "provider" }))
          }
          const input = decodePut({ api_key: apiKey })
          if (Result.isFailure(input)) return Effect.fail(invalidFromSchema(input.failure))
          const secret = input.success.api_key
          return Effect.promise(() => seal(keyring, secret, contextOf(account, provider))).pipe(
            Effect.flatMap((sealed) => store.put(account, provider, sealed, secret.slice(-4))),
            // Dropped once written, here and on every node: a read between could cache the old one.
            Effect.tap(() => Effect.sync(() => forget(account, provider))),
            Effect.map(view)
          )
        },

        remove: (account, provider) => Effect.tap(store.remove(account, provider), () => Effect.sync(() => forget(account, provider))),

        secretFor: (account, provider, requestId) => refusing(() => credentialFor(requestId, account, provider)),

        /**
         * After a new key is made here, or supplied in RELAY_MASTER_KEY with the old one in
         * RELAY_MASTER_KEY_PREVIOUS; the old keys are retired only once every row is re-sealed.
         */
        rotate: () => refusing(async () => {
          const generated = await keyring.rotate()
          let resealed = 0
          for (const { accountId, provider, sealed } of await Effect.runPromise(store.all())) {
            if (sealed.keyId === keyring.current.id) continue
            const context = contextOf(accountId, provider)
            try {
              await Effect.runPromise(store.reseal(accountId, provider, await seal(keyring, await open(keyring, sealed, context), context)))
              resealed++
            } catch (error) {
              log.error({ account: accountId, provider, error: error instanceof Error ? error.message : String(error) }, "credential could not be re-sealed")
              return new Internal({ message: `a ${provider} credential could not be re-sealed; the old master key is kept` })
            }
          }
          await keyring.retire()
          return { key_id: keyring.current.id, generated, resealed }
        })
      }

      return {
        start: Effect.map(info.providers.list(), (adapters) => {
          keyed = adapters.filter((p) => !p.keyless).map((p) => p.name)
        }),

        admit: (ctx) => {
          if (!ctx.byok) return Effect.void
          const provider = ctx.target.provider
          const account = ctx.caller.account.id
          const withCredential = Effect.promise(() => credentialFor(ctx.id, account, provider)).pipe(Effect.flatMap((secret): Effect.Effect<void, RelayError> => {
            if (secret instanceof Internal) return Effect.fail(secret)
            if (secret === undefined) {
              return Effect.fail(new ByokCredentialMissing({
                message: `no ${provider} credential is stored for this account; add one with PUT /v1/account/byok/${provider}`
              }))
            }
            ctx.credential = secret
            return Effect.void
          }))
          return Effect.flatMap(info.providers.get(provider), (adapter) => (adapter?.keyless ? Effect.void : withCredential))
        },

        services: Context.make(CredentialVault, credentials),

        routes: (app, kit) => {
          app.put("/v1/account/byok/:provider", async (c) => {
            const caller = await kit.authenticate(c)
            if (caller instanceof Error) return kit.errorResponse(c, caller)
            const body = await kit.readJson(c)
            if (body instanceof Error) return kit.errorResponse(c, body)
            return kit.respond(c, credentials.put(caller.account.id, c.req.param("provider"), body.api_key))
          })

          app.get("/v1/account/byok", async (c) => {
            const caller = await kit.authenticate(c)
            if (caller instanceof Error) return kit.errorResponse(c, caller)
            return kit.respond(c, Effect.map(credentials.list(caller.account.id), (data) => ({ data })))
          })

          app.delete("/v1/account/byok/:provider", async (c) => {
            const caller = await kit.authenticate(c)
            if (caller instanceof Error) return kit.errorResponse(c, caller)
            const provider = c.req.param("provider")
            if (!(await kit.run(credentials.remove(caller.account.id, provider)))) {
              return kit.errorResponse(c, new RouteNotFound({ message: `no ${provider} credential is stored for this account` }))
            }
            return c.body(null, 204)
          })

          app.post("/admin/vault/rotate", (c) => kit.respond(c, credentials.rotate()))
        }
      }
    }))
