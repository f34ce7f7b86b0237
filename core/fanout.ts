import { Effect, Layer } from "effect"
import { Fanout } from "./ports/fanout.ts"

/**
 * The Fanout port within one process: a message reaches this node's subscribers only, at
 * once. One node needs no more, since every change it makes is its own.
 */
export const localFanout: Layer.Layer<Fanout> = Layer.sync(Fanout, () => {
  const listeners = new Map<string, Array<(message: string | undefined) => void>>()
  return Fanout.of({
    publish: (topic, message) => Effect.sync(() => listeners.get(topic)?.forEach((listener) => listener(message))),
    subscribe: (topic, listener) => Effect.sync(() => void listeners.set(topic, [...(listeners.get(topic) ?? []), listener]))
  })
})
