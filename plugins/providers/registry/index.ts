import { Effect, Layer } from "effect"
import { type ProviderAdapter, ProviderRegistry, type ProviderRegistryShape } from "../../../core/index.ts"

/**
 * The ProviderRegistry port over adapters held in memory: what each provider plugin offers for
 * its own adapter. Every answer is at hand, so it answers at once. A name given twice is served
 * by the later adapter, and both are listed, in order.
 */
export const providerRegistry = (adapters: ReadonlyArray<ProviderAdapter>): ProviderRegistryShape => {
  const byName = new Map(adapters.map((adapter) => [adapter.name, adapter] as const))
  const all = Effect.succeed(adapters)
  return {
    get: (name) => Effect.succeed(byName.get(name)),
    list: () => all
  }
}

/** The same registry as a Layer: the port's shipped implementation, for its contract suite. */
export const providerRegistryLayer = (adapters: ReadonlyArray<ProviderAdapter>): Layer.Layer<ProviderRegistry> =>
  Layer.succeed(ProviderRegistry, providerRegistry(adapters))
