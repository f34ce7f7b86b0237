import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { buildStore, StoreScope } from "../../core/index.ts"

class Pool extends Context.Service<Pool, { readonly open: () => boolean }>()("test/Pool") {}

/** A store that holds a resource (a connection pool) and lets it go when its scope closes. */
const pooled = (log: Array<string>) =>
  Layer.effect(
    Pool,
    Effect.acquireRelease(
      Effect.sync(() => {
        const state = { open: true }
        log.push("opened")
        return { state, pool: Pool.of({ open: () => state.open }) }
      }),
      ({ state }) => Effect.sync(() => {
        state.open = false
        log.push("closed")
      })
    ).pipe(Effect.map(({ pool }) => pool))
  )

describe("a plugin's store", () => {
  it("lives in the relay's StoreScope: open after setup, closed with the relay", async () => {
    const log: Array<string> = []
    const scope = Scope.makeUnsafe()
    const pool = await Effect.runPromise(buildStore(pooled(log), Context.get(Pool)).pipe(Effect.provideService(StoreScope, scope)))
    assert.equal(pool.open(), true)
    assert.deepEqual(log, ["opened"])
    await Effect.runPromise(Scope.close(scope, Exit.void))
    assert.equal(pool.open(), false)
    assert.deepEqual(log, ["opened", "closed"])
  })

  it("set up without a StoreScope (a plugin alone), lives as long as its setup", async () => {
    const log: Array<string> = []
    const pool = await Effect.runPromise(buildStore(pooled(log), Context.get(Pool)))
    assert.deepEqual(log, ["opened", "closed"])
    assert.equal(pool.open(), false)
  })
})
