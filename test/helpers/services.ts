import { Context, Layer } from "effect"
import { Keyring, RateTiers, rateTiers, type KeyringShape, Log, type LogShape, Operator, type RelayInfo, Sql, type SqlShape, StoreHealth, StoreHealthState, UpstreamHttp } from "../../core/index.ts"
import { providerRegistry } from "../../plugins/providers/registry/index.ts"
import { openNodeStore } from "../../runtime/node-store.ts"

/** A keyring of one fixed key, as the runtime would supply it. */
export const testKeyring = async (): Promise<KeyringShape> => {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(32).fill(7), { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
  const current = { id: "test-key", key }
  return { current, find: (id) => (id === current.id ? current : undefined), rotate: async () => false, retire: async () => undefined }
}

/** The core services for in-process tests: an in-memory store, a recording log, no network. */
export const testServices = async (options: { sql?: SqlShape; log?: LogShape; storeHealth?: StoreHealthState } = {}) =>
  Layer.mergeAll(
    Layer.succeed(Sql, options.sql ?? openNodeStore(":memory:")),
    Layer.succeed(Log, options.log ?? { debug() {}, info() {}, warn() {}, error() {}, request() {} }),
    Layer.succeed(UpstreamHttp, { send: () => ({ response: Promise.reject(new Error("no network in unit tests")), abort: () => undefined }) }),
    Layer.succeed(Operator, { notice: () => undefined }),
    Layer.succeed(Keyring, await testKeyring()),
    Layer.succeed(StoreHealth, options.storeHealth ?? new StoreHealthState())
  )

/** What plugins learn at setup, for tests that set one up alone. */
export const testInfo = (overrides: Partial<RelayInfo> = {}): RelayInfo => {
  const tiers = overrides.tiers ?? { starter: { rpm: 60, tpm: 100_000 } }
  const defaultTier = overrides.defaultTier ?? "starter"
  const services = Context.make(RateTiers, rateTiers(tiers, defaultTier))
  return { models: [], tiers, defaultTier, providers: providerRegistry([]), services: () => services, endpoints: () => [], ...overrides }
}
