import type { Context, Effect as EffectModule, Layer as LayerModule } from "effect"

/**
 * Effect's modules as the caller has them: a config beside the single executable takes them
 * from its argument, since it cannot import effect from disk.
 */
export interface EffectKit {
  readonly Effect: typeof EffectModule
  readonly Layer: typeof LayerModule
}

/**
 * A port's implementation that answers as a store a network away would: every call waits a
 * moment before it reaches the store and again before its answer comes back, so each answer
 * arrives on a later turn of the event loop than the call. It passes the same contract suites
 * as the implementation it wraps; a relay that works with it assumes no synchronous answer.
 */
export const delayedShape = <S extends object>({ Effect }: Pick<EffectKit, "Effect">, port: S, ms = 1): S => {
  const hop = Effect.sleep(ms)
  const wrapped: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(port)) {
    wrapped[name] = typeof member === "function"
      ? (...args: Array<unknown>) => hop.pipe(Effect.andThen(() => member(...args) as EffectModule.Effect<unknown>), Effect.tap(() => hop))
      : member
  }
  return wrapped as S
}

/**
 * The port `tag` of a Layer, behind a delay (see delayedShape). Other ports the inner Layer
 * provides (a ledger's usage records) pass through as they are.
 */
export const delayed = <I, S extends object, Out, R>(
  kit: EffectKit,
  tag: Context.Key<I, S>,
  inner: LayerModule.Layer<I | Out, never, R>,
  ms = 1
): LayerModule.Layer<I | Out, never, R> =>
  kit.Layer.effect(tag, kit.Effect.map(tag as EffectModule.Effect<S, never, I>, (port) => delayedShape(kit, port, ms))).pipe(kit.Layer.provideMerge(inner))
