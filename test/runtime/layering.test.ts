import assert from "node:assert/strict"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, it } from "node:test"
import { ROOT } from "../helpers/runtimes.ts"

/**
 * The layering of the design, over every source file (`.ts` and `.tsx`): core <- plugins <-
 * config <- runtime, each importing only its own layer and those before it; a folder reached
 * from outside through its `index.ts` alone; no import cycles; no runtime global outside runtime/.
 */
const LAYERS = ["core", "plugins", "config", "runtime"] as const

const SOURCES = LAYERS.flatMap((layer) =>
  readdirSync(join(ROOT, layer), { recursive: true, encoding: "utf8" })
    .filter((file) => /\.tsx?$/.test(file))
    .map((file) => join(layer, file))
)

const text = new Map(SOURCES.map((file) => [file, readFileSync(join(ROOT, file), "utf8")]))

const SPECIFIER = /(?:from|import)\s*\(?\s*"(\.[^"]+)"/g

/** The project files a file imports, type imports included, by path from the root. */
const imports = (file: string): Array<string> =>
  [...text.get(file)!.matchAll(SPECIFIER)].map((match) => relative(ROOT, resolve(ROOT, dirname(file), match[1]!)))

const layerOf = (file: string) => LAYERS.indexOf(file.split("/")[0] as (typeof LAYERS)[number])

/** The folder a file belongs to as a unit: core/, config/, runtime/, or one plugin's folder. */
const unitOf = (file: string): string => {
  const parts = file.split("/")
  if (parts[0] !== "plugins") return parts[0]!
  return parts[1] === "providers" ? parts.slice(0, 3).join("/") : parts.slice(0, 2).join("/")
}

describe("layering", () => {
  it("finds the sources, .tsx among them", () => {
    assert.ok(SOURCES.some((file) => file.endsWith(".tsx")))
    assert.ok(SOURCES.includes("core/index.ts") && SOURCES.includes("runtime/relay.ts"))
  })

  it("each layer imports only itself and the layers before it", () => {
    for (const file of SOURCES) {
      for (const target of imports(file)) {
        assert.ok(layerOf(target) >= 0, `${file} imports ${target}, outside core/, plugins/, config/ and runtime/`)
        assert.ok(layerOf(target) <= layerOf(file), `${file} imports ${target}, a later layer`)
      }
    }
  })

  it("a folder is reached from outside through its index.ts only", () => {
    for (const file of SOURCES) {
      for (const target of imports(file)) {
        if (unitOf(target) === unitOf(file)) continue
        assert.equal(target, `${unitOf(target)}/index.ts`, `${file} reaches into ${target}`)
      }
    }
  })

  it("has no import cycle", () => {
    const state = new Map<string, "visiting" | "done">()
    const visit = (file: string, path: ReadonlyArray<string>) => {
      if (state.get(file) === "done") return
      assert.notEqual(state.get(file), "visiting", `import cycle: ${[...path.slice(path.indexOf(file)), file].join(" -> ")}`)
      state.set(file, "visiting")
      for (const target of imports(file)) if (text.has(target)) visit(target, [...path, file])
      state.set(file, "done")
    }
    for (const file of SOURCES) visit(file, [])
  })

  it("nothing outside runtime/ names a runtime global or a runtime's module", () => {
    for (const file of SOURCES.filter((file) => !file.startsWith("runtime/"))) {
      assert.doesNotMatch(text.get(file)!, /\b(?:Bun|Deno|process)\.\w/, file)
      assert.doesNotMatch(text.get(file)!, /(?:from|import)\s*\(?\s*"(?:node:|bun:|better-sqlite3|@hono\/node-server)/, file)
    }
  })
})
