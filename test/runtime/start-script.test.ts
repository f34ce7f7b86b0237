import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, it } from "node:test"
import { NODE_RELAY_FLAGS, relayCommand, ROOT } from "../helpers/runtimes.ts"

/** The tests and the benchmark run the relay on Node exactly as `npm start` does. */
describe("npm start", () => {
  it("runs runtime/node.ts through tsx with the relay's V8 flags, as the tests do", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts
    assert.equal(scripts.start, `node ${NODE_RELAY_FLAGS.join(" ")} --import tsx runtime/node.ts`)
    const command = relayCommand("node")
    assert.deepEqual(command.args.slice(0, NODE_RELAY_FLAGS.length), NODE_RELAY_FLAGS)
    assert.ok(command.args.at(-1)!.endsWith("runtime/node.ts"))
  })
})
