import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { ROOT } from "./runtimes.ts"

/**
 * The real agent clients and SDKs of `test/clients` (a package of their own, installed by
 * `npm ci --prefix test/clients`): loaded from there, never from the root's dependencies.
 */
export const CLIENTS_DIR = join(ROOT, "test/clients")

const INSTALLED = join(CLIENTS_DIR, "node_modules/.package-lock.json")
const LOCK = join(CLIENTS_DIR, ".installing")
const STALE_MS = 15 * 60_000
const pause = new Int32Array(new SharedArrayBuffer(4))

/**
 * Installs the clients on first use, so `npm test` works on a fresh checkout as the README
 * says. Test files may run in parallel: one installs (the lock is a directory, made
 * atomically), the others wait for it.
 */
const ensureInstalled = () => {
  while (!existsSync(INSTALLED)) {
    try {
      mkdirSync(LOCK)
    } catch {
      // An install that died long ago leaves its lock behind.
      const lock = statSync(LOCK, { throwIfNoEntry: false })
      if (lock !== undefined && Date.now() - lock.mtimeMs > STALE_MS) rmSync(LOCK, { recursive: true, force: true })
      Atomics.wait(pause, 0, 0, 500)
      continue
    }
    try {
      if (!existsSync(INSTALLED)) {
        execFileSync("npm", ["ci", "--prefix", CLIENTS_DIR, "--no-audit", "--no-fund"], { stdio: ["ignore", "ignore", "inherit"] })
      }
    } finally {
      rmSync(LOCK, { recursive: true, force: true })
    }
  }
}
ensureInstalled()

/** Loads a package installed in `test/clients`. */
export const clientPackage: NodeJS.Require = createRequire(join(CLIENTS_DIR, "package.json"))

/** The path of a client's executable (`claude`, `codex`). */
export const clientBin = (name: string): string => join(CLIENTS_DIR, "node_modules/.bin", name)
