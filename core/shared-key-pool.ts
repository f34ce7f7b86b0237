import { Effect } from "effect"
import { type CooldownReason, KeyPool } from "./key-pool.ts"
import type { FanoutShape } from "./ports/fanout.ts"
import { randomBase62, sha256Hex } from "./secrets.ts"

const REASONS: ReadonlyArray<CooldownReason> = ["rate_limited", "failing", "rejected"]

/**
 * A provider's shared key pool whose rests reach every node: a key one node finds rate limited
 * or refused rests on all of them, so the others do not spend requests finding out again. A key
 * is named in a message by a fingerprint of its hash, never by its value; the nodes are assumed
 * to hold the same keys (in any order). A node that starts later, or missed a message, learns
 * of a rest by meeting it, as a lone node does.
 */
export const sharedKeyPool = (provider: string, secrets: ReadonlyArray<string>, fanout: FanoutShape) =>
  Effect.gen(function*() {
    const node = randomBase62(12)
    const fingerprints = yield* Effect.promise(() => Promise.all(secrets.map(async (secret) => (await sha256Hex(secret)).slice(0, 16))))
    const topic = `keys-rest:${provider}`
    const pool = new KeyPool(secrets, Date.now, (slot, reason, until) => {
      Effect.runFork(fanout.publish(topic, [node, fingerprints[slot], reason, until].join(" ")))
    })
    yield* fanout.subscribe(topic, (message) => {
      const [from, fingerprint, reason, until] = message?.split(" ") ?? []
      const slot = fingerprint === undefined ? -1 : fingerprints.indexOf(fingerprint)
      if (from === node || slot < 0 || !REASONS.includes(reason as CooldownReason) || !/^\d+$/.test(until ?? "")) return
      pool.restedElsewhere(slot, reason as CooldownReason, Number(until))
    })
    return pool
  })
