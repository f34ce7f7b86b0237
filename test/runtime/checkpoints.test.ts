import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { describe, it } from "node:test"
import { scriptCommand, type SourceRuntime } from "../helpers/runtimes.ts"

describe("each runtime checkpoints the store's log in a worker, and on its own connection once the worker stops", () => {
  for (const runtime of ["node", "bun", "deno"] satisfies Array<SourceRuntime>) {
    it(runtime, () => {
      const { command, args } = scriptCommand(runtime, "test/fixtures/checkpoint-contract.ts", [runtime])
      const run = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 })
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`)
      assert.match(run.stdout, /the checkpoint contract holds/)
    })
  }
})
