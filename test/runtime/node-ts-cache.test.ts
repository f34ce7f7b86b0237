import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, it } from "node:test"
import { pathToFileURL } from "node:url"
import { ROOT } from "../helpers/runtimes.ts"

/**
 * `npm start` compiles the TypeScript once and keeps it (runtime/node-ts-hooks.mjs): a start
 * on unchanged sources takes the kept module, and a changed source is compiled again.
 */
const CACHE = join(ROOT, "node_modules/.cache/relay-ts")
const HOOKS = pathToFileURL(join(ROOT, "runtime/node-ts.mjs")).href
const dir = mkdtempSync(join(tmpdir(), "relay-ts-cache-"))
const marker = `marker-${process.pid}-${Date.now()}`
const file = join(dir, "module.ts")

const run = () => spawnSync(process.execPath, ["--import", HOOKS, file], { encoding: "utf8" })
/** The cache's entries compiled from this test's module. */
const entries = () => readdirSync(CACHE).filter((name) => name.endsWith(".mjs") && readFileSync(join(CACHE, name), "utf8").includes(marker))

describe("node TypeScript hooks' compile cache", () => {
  after(() => {
    for (const name of entries()) rmSync(join(CACHE, name), { force: true })
    rmSync(dir, { recursive: true, force: true })
  })

  it("runs a kept module on the next start, and compiles a changed source again", () => {
    writeFileSync(file, `const answer: number = 1\nconsole.log("${marker}", answer)\n`)
    assert.equal(run().stdout.trim(), `${marker} 1`)
    const [kept, ...others] = entries()
    assert.ok(kept !== undefined && others.length === 0, "compiled once and kept")
    // The next start runs what was kept, not a fresh compile.
    writeFileSync(join(CACHE, kept), `console.log("${marker}", "from the cache")\n`)
    assert.equal(run().stdout.trim(), `${marker} from the cache`)
    // An edited source is never served stale.
    writeFileSync(file, `const answer: number = 2\nconsole.log("${marker}", answer)\n`)
    assert.equal(run().stdout.trim(), `${marker} 2`)
    assert.equal(entries().length, 2)
  })

  it("reports a TypeScript syntax error as a failed start, and keeps nothing for it", () => {
    writeFileSync(file, `const broken: = "${marker}"\n`)
    const result = run()
    assert.notEqual(result.status, 0)
    assert.match(result.stderr, /module\.ts/)
    assert.ok(!entries().some((name) => readFileSync(join(CACHE, name), "utf8").includes("broken")))
  })
})
