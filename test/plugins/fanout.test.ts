import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { Redis } from "ioredis"
import { Fanout, type FanoutShape, localFanout, Log, redisFanout, sharedKeyPool } from "../../core/index.ts"
import { startRedis, type TestServer } from "../helpers/databases.ts"
import { eventually } from "../helpers/relay.ts"

/**
 * The Fanout port: within one process, and over Redis pub/sub between nodes, where a node whose
 * subscription broke is told that it may have missed messages; and a shared key pool, whose
 * rests reach the other nodes by fingerprint.
 */

let redis: TestServer
const scopes: Array<Scope.Closeable> = []
const silent = { debug() {}, info() {}, warn() {}, error() {}, request() {} }

/** Builds a Fanout from `layer` in a scope closed after the tests. */
const build = async (layer: Layer.Layer<Fanout, never, Log>): Promise<FanoutShape> => {
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const built = await Effect.runPromise(Layer.buildWithScope(Layer.provide(layer, Layer.succeed(Log, silent)), scope))
  return Context.get(built, Fanout)
}

/** A node's Fanout over Redis, with its own two connections. */
const redisNode = () => build(redisFanout(redis.url, redis.url))

const heard = (fanout: FanoutShape, topic: string) => {
  const messages: Array<string | undefined> = []
  return Effect.runPromise(fanout.subscribe(topic, (message) => void messages.push(message))).then(() => messages)
}

before(async () => {
  redis = await startRedis()
})

after(async () => {
  for (const scope of scopes) await Effect.runPromise(Scope.close(scope, Exit.void))
  await redis.stop()
})

describe("Fanout", () => {
  it("in one process: a message reaches this process's subscribers of its topic, in order", async () => {
    const fanout = await build(localFanout)
    const keys = await heard(fanout, "keys")
    const vault = await heard(fanout, "vault")
    await Effect.runPromise(fanout.publish("keys", "one"))
    await Effect.runPromise(fanout.publish("keys", "two"))
    assert.deepEqual(keys, ["one", "two"])
    assert.deepEqual(vault, [])
  })

  it("over Redis: a message reaches every node's subscribers, and a node whose subscription broke hears of the gap", async () => {
    const [a, b] = await Promise.all([redisNode(), redisNode()])
    const onA = await heard(a, "keys")
    const onB = await heard(b, "keys")
    const otherTopic = await heard(b, "vault")
    await Effect.runPromise(a.publish("keys", "revoked"))
    await eventually(() => assert.deepEqual([onA, onB], [["revoked"], ["revoked"]]))
    assert.deepEqual(otherTopic, [])

    // Cut B's subscribing connection: when it is back, B is told it may have missed messages,
    // and hears later ones again.
    const admin = new Redis(redis.url)
    try {
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub")
    } finally {
      admin.disconnect()
    }
    await eventually(() => assert.ok(onB.includes(undefined), "B heard of the gap"), 10_000)
    await eventually(async () => {
      await Effect.runPromise(a.publish("keys", "after"))
      assert.ok(onB.includes("after"), "B hears what follows the gap")
    }, 10_000)
  })

  it("over Redis: a key one node puts to rest rests on the other nodes too, named by fingerprint", async () => {
    const [a, b] = await Promise.all([redisNode(), redisNode()])
    // The same two keys, in a different order on each node.
    const poolA = await Effect.runPromise(sharedKeyPool("openai", ["sk-first-1111", "sk-second-2222"], a))
    const poolB = await Effect.runPromise(sharedKeyPool("openai", ["sk-second-2222", "sk-first-1111"], b))
    poolA.cool(0, "rate_limited", 60_000)
    await eventually(() => assert.ok(poolB.rests("rate_limited"), "B rests a key"))
    for (let i = 0; i < 4; i++) assert.deepEqual(poolB.candidates().map((key) => key.secret), ["sk-second-2222"], "B leaves sk-first alone")
    assert.ok(poolB.retryAfterSeconds()! > 50)
  })
})
