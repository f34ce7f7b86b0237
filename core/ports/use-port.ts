import { Context, Effect, Layer, Option, type Scope } from "effect"

/**
 * Where the stores the plugins build live: a scope the relay closes when it closes, after the
 * last request settled, so a store holding a connection pool keeps it that long.
 */
export class StoreScope extends Context.Service<StoreScope, Scope.Scope>()("relay/StoreScope") {}

/**
 * The ports a plugin's store provides, built from the Layer of its implementation (the
 * plugin's `store` option, or its default) at setup and read with `read`. The store lives in
 * the relay's StoreScope; a plugin set up alone (a unit test) has none, and its store then
 * lives as long as the setup.
 */
export const buildStore = <Out, A, R>(layer: Layer.Layer<Out, never, R>, read: (ports: Context.Context<Out>) => A): Effect.Effect<A, never, R> =>
  Effect.flatMap(Effect.serviceOption(StoreScope), (scope) =>
    Option.isSome(scope)
      ? Effect.map(Layer.buildWithScope(layer, scope.value), read)
      : Effect.scoped(Effect.map(Layer.build(layer), read)))
