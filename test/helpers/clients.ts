import { createRequire } from "node:module"
import { join } from "node:path"
import { ROOT } from "./runtimes.ts"

/**
 * The real agent clients and SDKs of `test/clients` (a package of their own, installed by
 * `npm ci --prefix test/clients`): loaded from there, never from the root's dependencies.
 */
export const CLIENTS_DIR = join(ROOT, "test/clients")

/** Loads a package installed in `test/clients`. */
export const clientPackage: NodeJS.Require = createRequire(join(CLIENTS_DIR, "package.json"))

/** The path of a client's executable (`claude`, `codex`). */
export const clientBin = (name: string): string => join(CLIENTS_DIR, "node_modules/.bin", name)
