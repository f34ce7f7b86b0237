/**
 * Node module hooks (registered by node-ts.mjs): TypeScript modules compiled as they load, and
 * kept compiled in a cache keyed by each module's source, so that a start on unchanged sources
 * neither runs esbuild (its service is a process of its own) nor waits for it. A changed file
 * has a new key and is compiled again; a cache that cannot be written is simply not kept.
 */
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const LOADERS = { ".ts": "ts", ".mts": "ts", ".tsx": "tsx" }

/** As tsconfig.json says: modules as written, JSX from hono/jsx. */
const OPTIONS = {
  format: "esm",
  target: "node20",
  sourcemap: "inline",
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } }
}

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const CACHE = join(ROOT, "node_modules/.cache/relay-ts")
/** What else the output depends on: the options and the compiler. */
const SALT = JSON.stringify([OPTIONS, JSON.parse(readFileSync(join(ROOT, "node_modules/esbuild/package.json"), "utf8")).version])

/** esbuild is loaded only when a module is not in the cache. */
let esbuild

const compile = async (source, loader, file) => {
  esbuild ??= await import("esbuild")
  return (await esbuild.transform(source, { ...OPTIONS, loader, sourcefile: file })).code
}

const cached = (key) => {
  try {
    return readFileSync(join(CACHE, key), "utf8")
  } catch {
    return undefined
  }
}

const keep = (key, code) => {
  try {
    mkdirSync(CACHE, { recursive: true })
    // Written whole and renamed into place: a relay starting meanwhile reads all of it or none.
    const partial = join(CACHE, `${key}.${process.pid}.partial`)
    writeFileSync(partial, code)
    renameSync(partial, join(CACHE, key))
  } catch {
    // A read-only install: compiled on every start, as without a cache.
  }
}

export async function load(url, context, nextLoad) {
  const loader = url.startsWith("file:") ? LOADERS[/\.[a-z]+$/.exec(url)?.[0] ?? ""] : undefined
  if (loader === undefined) return nextLoad(url, context)
  const file = fileURLToPath(url)
  const source = await readFile(file, "utf8")
  // The path is in the key: the inline source map names the file.
  const key = `${createHash("sha256").update(SALT).update("\0").update(file).update("\0").update(source).digest("hex")}.mjs`
  let code = cached(key)
  if (code === undefined) {
    code = await compile(source, loader, file)
    keep(key, code)
  }
  return { format: "module", source: code, shortCircuit: true }
}
