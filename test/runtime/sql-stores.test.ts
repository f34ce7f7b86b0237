import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { describe, it } from "node:test"
import { scriptCommand, type SourceRuntime } from "../helpers/runtimes.ts"

describe("each runtime's SQLite adapter keeps the Sql contract", () => {
  for (const runtime of ["node", "bun", "deno"] satisfies Array<SourceRuntime>) {
    it(runtime, () => {
      const { command, args } = scriptCommand(runtime, "test/fixtures/sql-store-contract.ts", [runtime])
      // The contract starts a Node process that holds a store's write lock.
      if (runtime === "deno") args.splice(1, 0, "--allow-run=node")
      const run = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 })
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`)
      assert.match(run.stdout, /the Sql contract holds/)
    })
  }
})
