/**
 * `npm start`: the relay on Node, compiled ahead of time. Node 20 runs TypeScript only through
 * module hooks, and those run on a loader thread of their own that stays for the life of the
 * process: about 35 MiB of the relay's idle memory. Here the relay's sources are bundled into
 * one module (npm packages stay imports, but for BUNDLED), rebuilt when a source is newer than
 * it, and the config is compiled beside it, so no hook is registered at all.
 *
 * A config that imports the relay's own modules (`./config/index.ts`, say, rather than taking
 * the factories from its argument) or a BUNDLED package needs the very instances the relay runs
 * on: it starts from the TypeScript sources through the hooks, as before, and so does a config
 * that does not compile (the hooks then say why), and so does a read-only install where the
 * build cannot be written.
 *
 *   node runtime/node-aot.mjs           start the relay (`npm start`)
 *   node runtime/node-aot.mjs --build   only build it (`npm run build`)
 */
import { createHash } from "node:crypto"
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { dirname, extname, join, resolve, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
/** The folders the relay is built from. */
const SOURCES = ["core", "config", "plugins", "runtime"].map((folder) => join(ROOT, folder))
const OUT = join(ROOT, "dist/node/relay.mjs")
/** Compiled configs, kept by the path of the config. */
const CONFIGS = join(ROOT, "node_modules/.cache/relay-config")

/**
 * Packages bundled into the relay rather than imported: effect's index module loads every one
 * of its modules (about 23 MiB of idle memory), where the relay uses a part. A config that
 * imports one of them needs the instance the relay runs on, so it loads through the hooks.
 */
const BUNDLED = new Set(["effect"])
const dependencies = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies)

/** As tsconfig.json says: modules as written, JSX from hono/jsx. */
const OPTIONS = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  jsx: "automatic",
  jsxImportSource: "hono/jsx",
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
  write: false,
  logLevel: "silent"
}

/** Written whole and renamed into place: a relay starting meanwhile reads all of it or none. */
const writeWhole = (file, text) => {
  mkdirSync(dirname(file), { recursive: true })
  const partial = `${file}.${process.pid}.partial`
  writeFileSync(partial, text)
  renameSync(partial, file)
}

/** The newest change under `folder`: a file's, or a folder's (a file removed or renamed). */
const newest = (folder) => {
  let latest = statSync(folder).mtimeMs
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

const isStale = () => {
  let built
  try {
    built = statSync(OUT).mtimeMs
  } catch {
    return true
  }
  return SOURCES.some((folder) => newest(folder) > built)
}

let esbuild
const compiler = async () => (esbuild ??= await import("esbuild"))

const build = async () => {
  const external = dependencies.filter((name) => !BUNDLED.has(name)).flatMap((name) => [name, `${name}/*`])
  const result = await (await compiler()).build({ ...OPTIONS, external, entryPoints: [join(ROOT, "runtime/node-main.ts")], outfile: OUT })
  writeWhole(OUT, result.outputFiles[0].text)
}

const hash = (file) => createHash("sha256").update(readFileSync(file)).digest("hex")

/**
 * The config at `file` compiled into one module (its own local imports bundled in), or
 * undefined when it must load through the hooks: it imports the relay's own modules, or does not
 * compile (the hooks then say why, as they always have). Kept until one of its files changes.
 */
const compileConfig = async (file) => {
  const key = createHash("sha256").update(file).digest("hex").slice(0, 32)
  const out = join(CONFIGS, `${key}.mjs`)
  const manifest = join(CONFIGS, `${key}.json`)
  try {
    const inputs = JSON.parse(readFileSync(manifest, "utf8"))
    if (Object.entries(inputs).every(([input, sum]) => hash(input) === sum)) return out
  } catch {
    // Not compiled yet, or a file of it is gone: compiled again below.
  }
  let result
  try {
    result = await (await compiler()).build({ ...OPTIONS, packages: "external", entryPoints: [file], outfile: out, metafile: true, absWorkingDir: dirname(file) })
  } catch {
    return undefined
  }
  const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(dirname(file), input))
  if (inputs.some((input) => SOURCES.some((folder) => input.startsWith(folder + sep)))) return undefined
  const packages = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((imported) => imported.path.split("/")[0]))
  if (packages.some((name) => BUNDLED.has(name))) return undefined
  try {
    writeWhole(out, result.outputFiles[0].text)
    writeWhole(manifest, JSON.stringify(Object.fromEntries(inputs.map((input) => [input, hash(input)]))))
  } catch {
    return undefined
  }
  return out
}

/** Builds the relay when a source is newer; false when it cannot be written (a read-only install). */
const built = async () => {
  if (!isStale()) return true
  try {
    await build()
    return true
  } catch {
    return false
  }
}

/** The config start.ts will load: `RELAY_CONFIG`, else relay.config.ts in the working directory. */
const configFile = resolve(process.env.RELAY_CONFIG || "relay.config.ts")
const TYPESCRIPT = new Set([".ts", ".mts", ".tsx"])

if (process.argv.includes("--build")) {
  await build()
  await esbuild?.stop()
} else {
  const compiled = !(await built()) ? undefined : TYPESCRIPT.has(extname(configFile)) ? await compileConfig(configFile) : configFile
  // esbuild's service is a process of its own: not kept beside the relay.
  await esbuild?.stop()
  if (compiled === undefined) {
    await import("./node-ts.mjs")
    await import("./node.ts")
  } else {
    const { startNode } = await import(pathToFileURL(OUT).href)
    const url = pathToFileURL(compiled)
    await startNode((file) => (resolve(file) === configFile ? url : undefined))
  }
}
