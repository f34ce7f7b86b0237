import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { describe, it } from "node:test"
import { scriptCommand, type SourceRuntime } from "../helpers/runtimes.ts"

describe("the relay's port implementations keep their contracts on each runtime", () => {
  for (const runtime of ["node", "bun", "deno"] satisfies Array<SourceRuntime>) {
    it(runtime, () => {
      const { command, args } = scriptCommand(runtime, "test/fixtures/port-contracts.ts", [runtime])
      const run = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 })
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`)
      assert.match(run.stdout, new RegExp(`the port contracts hold on ${runtime}`))
    })
  }
})
