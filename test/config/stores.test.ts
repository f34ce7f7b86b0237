import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { stores } from "../../config/index.ts"
import { makeConfigEnv } from "../../config/env.ts"

/**
 * `stores()`: which stores the environment (or the same as options) selects, and the
 * combinations it refuses because they would run each node on its own while looking like one
 * relay. Selecting opens nothing: a store connects when the relay builds it.
 */

const MASTER = { RELAY_MASTER_KEY: "a".repeat(43) + "=" }
const PG = "postgres://relay:pw@db.internal:5432/relay"
const REDIS = "redis://cache.internal:6379"

describe("stores()", () => {
  it("selects SQLite and memory when neither URL is set", () => {
    const choice = stores(makeConfigEnv({}))
    assert.equal(choice.shared, false)
    for (const part of [choice.keys, choice.billing, choice.vault, choice.limiter, choice.console, choice.responses, choice.auditLog, choice.providers]) {
      assert.deepEqual(part, {})
    }
  })

  it("selects PostgreSQL and Redis for every stateful plugin, from the environment or from options", () => {
    for (const choice of [
      stores(makeConfigEnv({ DATABASE_URL: PG, REDIS_URL: REDIS, ...MASTER })),
      stores(makeConfigEnv(MASTER), { databaseUrl: PG, redisUrl: REDIS })
    ]) {
      assert.equal(choice.shared, true)
      assert.ok(choice.keys.store && choice.keys.fanout)
      assert.ok(choice.billing.store && choice.vault.store && choice.vault.fanout && choice.responses.store && choice.auditLog.store && choice.providers.fanout)
      assert.ok(choice.limiter.windows)
      assert.equal(typeof choice.console.sessions, "function")
      assert.equal(choice.console.cookieSecret, MASTER.RELAY_MASTER_KEY)
    }
  })

  it("refuses one URL without the other, a shared database without a master key, and URLs of the wrong kind", () => {
    assert.throws(() => stores(makeConfigEnv({ DATABASE_URL: PG, ...MASTER })), /DATABASE_URL is set without REDIS_URL/)
    assert.throws(() => stores(makeConfigEnv({ REDIS_URL: REDIS, ...MASTER })), /REDIS_URL is set without DATABASE_URL/)
    assert.throws(() => stores(makeConfigEnv(MASTER), { redisUrl: REDIS }), /REDIS_URL is set without DATABASE_URL/)
    assert.throws(() => stores(makeConfigEnv({ DATABASE_URL: PG, REDIS_URL: REDIS })), /without RELAY_MASTER_KEY/)
    assert.throws(() => stores(makeConfigEnv({ DATABASE_URL: "mysql://db/relay", REDIS_URL: REDIS, ...MASTER })), /DATABASE_URL must be a postgres:\/\/ URL/)
    assert.throws(() => stores(makeConfigEnv({ DATABASE_URL: PG, REDIS_URL: "http://cache", ...MASTER })), /REDIS_URL must be a redis:\/\//)
    assert.throws(() => stores(makeConfigEnv({ DATABASE_URL: PG, REDIS_URL: REDIS, RELAY_REDIS_TIMEOUT_MS: "soon", ...MASTER })), /RELAY_REDIS_TIMEOUT_MS must be a whole number/)
  })

  it("never puts a URL's password in a refusal", () => {
    assert.throws(
      () => stores(makeConfigEnv({ DATABASE_URL: "postgres://relay:hunter2@db/relay", ...MASTER })),
      (error: Error) => !error.message.includes("hunter2")
    )
  })
})
