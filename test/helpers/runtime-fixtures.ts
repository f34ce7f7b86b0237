import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { describe, it } from "node:test"
import { scriptCommand, type SourceRuntime } from "./runtimes.ts"

/**
 * A test per source runtime (Node, Bun, Deno): the fixture `script`, given the runtime's name,
 * runs to its end within a minute and prints what `passed` matches. For what each runtime's
 * own driver or port must keep, checked where it runs.
 */
export const fixtureOnEachRuntime = (title: string, script: string, passed: (runtime: SourceRuntime) => RegExp): void => {
  describe(title, () => {
    for (const runtime of ["node", "bun", "deno"] satisfies Array<SourceRuntime>) {
      it(runtime, () => {
        const { command, args } = scriptCommand(runtime, script, [runtime])
        const run = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 })
        assert.equal(run.status, 0, `${run.stdout}${run.stderr}`)
        assert.match(run.stdout, passed(runtime))
      })
    }
  })
}
