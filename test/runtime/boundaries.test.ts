import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, it } from "node:test"
import { ROOT } from "../helpers/runtimes.ts"

/**
 * Each runtime's entry point loads only its own runtime's modules (better-sqlite3 never reaches
 * Bun or Deno). That nothing outside runtime/ names a runtime is layering.test.ts's.
 */
const read = (file: string) => readFileSync(join(ROOT, file), "utf8")

const SPECIFIER = /(?:from|import)\s*\(?\s*"([^"]+)"/g

const specifiers = (file: string): Array<string> => [...read(file).matchAll(SPECIFIER)].map((match) => match[1]!)

/** Every project file `entry` loads, following relative imports (type imports included). */
const moduleGraph = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith(".")) visit(relative(ROOT, resolve(ROOT, dirname(file), specifier)))
    }
  }
  visit(entry)
  return seen
}


describe("runtime boundaries", () => {
  // Deno serves and calls upstream through node:http, as Node does (runtime/node-serve.ts,
  // runtime/node-http.ts); Bun's server is its own, its upstream client node:http too (its
  // fetch holds at most 256 requests at once).
  for (const [entry, foreign] of [
    ["runtime/node.ts", ["bun:sqlite", "node:sqlite"]],
    ["runtime/bun.ts", ["better-sqlite3", "@hono/node-server", "node:sqlite"]],
    ["runtime/deno.ts", ["better-sqlite3", "bun:sqlite"]]
  ] as const) {
    it(`${entry} loads no other runtime's modules`, () => {
      for (const file of moduleGraph(entry)) {
        for (const specifier of specifiers(file)) assert.ok(!foreign.includes(specifier as never), `${file} imports ${specifier}`)
      }
    })
  }
})
