import { Effect, Layer } from "effect"
import type { Context } from "effect"
import {
  type CoreServices,
  Keyring,
  type KeyringShape,
  Log,
  Operator,
  Sql,
  type SqlShape,
  StoreHealth,
  StoreHealthState,
  UpstreamHttp
} from "../../core/index.ts"

/**
 * The shape of a port's contract suite: named cases, each a function that fails by throwing.
 * Plain functions rather than `node:test` cases, so the same suites run inside Bun and Deno
 * (test/fixtures/port-contracts.ts) as well as under Node's test runner (ports.test.ts).
 */
export interface ContractCase {
  readonly name: string
  readonly run: () => Promise<void>
}

/** Runs an effect of a port, which needs nothing but the port itself. */
export const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** What an implementation's Layer may need: the services a runtime supplies. */
export type ImplementationLayer<I> = Layer.Layer<I, never, CoreServices>

/** A keyring of one fixed key: the ports' contracts seal nothing, but a runtime always has one. */
const keyring = async (): Promise<KeyringShape> => {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(32).fill(7), { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
  const current = { id: "contract-key", key }
  return { current, find: (id) => (id === current.id ? current : undefined), rotate: async () => false, retire: async () => undefined }
}

/** The runtime's services for a contract run, over a fresh store (each runtime opens its own). */
export const servicesOver = async (sql: SqlShape): Promise<Layer.Layer<CoreServices>> =>
  Layer.mergeAll(
    Layer.succeed(Sql, sql),
    Layer.succeed(Log, { debug() {}, info() {}, warn() {}, error() {}, request() {} }),
    Layer.succeed(UpstreamHttp, { send: () => ({ response: Promise.reject(new Error("no network in contract tests")), abort: () => undefined }) }),
    Layer.succeed(Operator, { notice: () => undefined }),
    Layer.succeed(Keyring, await keyring()),
    Layer.succeed(StoreHealth, new StoreHealthState())
  )

/** Builds one port from an implementation's Layer over the given services. */
export const build = <I, S>(tag: Context.Key<I, S>, layer: ImplementationLayer<I>, services: Layer.Layer<CoreServices>): Promise<S> =>
  Effect.runPromise(Effect.provide(tag, Layer.provide(layer, services)))
