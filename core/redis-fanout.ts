import { Effect, Layer } from "effect"
import { Fanout } from "./ports/fanout.ts"
import { redisClientOf, type RedisOptions, type RedisSource } from "./redis-client.ts"
import { Log } from "./services.ts"

const channel = (topic: string) => `relay:fanout:${topic}`

/**
 * The Fanout port over Redis pub/sub: a message reaches every node within a round trip.
 * `subscriber` must be a connection of its own (Redis gives a subscribing connection to that
 * alone); several stores of a node may share it. When that connection comes back after a
 * break, every subscriber is told that messages may have been missed.
 */
export const redisFanout = (publisher: RedisSource, subscriber: RedisSource, options: RedisOptions = {}): Layer.Layer<Fanout, never, Log> =>
  Layer.effect(
    Fanout,
    Effect.gen(function*() {
      const log = yield* Log
      const out = yield* redisClientOf(publisher, log, options)
      const inbox = yield* redisClientOf(subscriber, log, options)
      const listeners = new Map<string, Array<(message: string | undefined) => void>>()
      let broken = false
      inbox.on("close", () => void (broken = true))
      inbox.on("ready", () => {
        if (!broken) return
        broken = false
        for (const list of listeners.values()) for (const listener of list) listener(undefined)
      })
      inbox.on("message", (from: string, message: string) => {
        for (const [topic, list] of listeners) if (channel(topic) === from) for (const listener of list) listener(message)
      })
      return Fanout.of({
        publish: (topic, message) =>
          Effect.promise(() =>
            out.publish(channel(topic), message).then(
              () => undefined,
              // The other nodes are told of the gap when their connection returns; this one
              // has made its change already.
              () => log.warn({ topic }, "a change could not be announced to the other nodes: Redis did not answer")
            )
          ),
        subscribe: (topic, listener) =>
          Effect.promise(async () => {
            const first = !listeners.has(topic)
            listeners.set(topic, [...(listeners.get(topic) ?? []), listener])
            if (first) await inbox.subscribe(channel(topic))
          })
      })
    })
  )
