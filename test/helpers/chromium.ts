import { type SpawnSyncReturns, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

/** Debian's chromium, which the browser tests drive. */
export const CHROMIUM = "/usr/bin/chromium"

/** Flags for a quiet, self-contained headless browser in a container. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

const tail = (result: SpawnSyncReturns<string>) => (result.stderr || result.error?.message || "").trim().split("\n").slice(-3).join(" / ")

/**
 * Chromium for the browser tests: installed with apt-get when it is missing (as root, or
 * through passwordless sudo), once per run of the tests that ask. Answers its path, or why
 * it could not be had, for the tests to skip with.
 */
export const ensureChromium = (): { readonly path: string } | { readonly skip: string } => {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM }
  const root = process.getuid?.() === 0
  if (!root && spawnSync("sudo", ["-n", "true"]).status !== 0) {
    return { skip: `${CHROMIUM} is missing and cannot be installed without root: run "apt-get install chromium" to run the browser tests` }
  }
  if (spawnSync("apt-get", ["--version"]).status !== 0) return { skip: `${CHROMIUM} is missing and this system has no apt-get to install it` }
  process.stderr.write(`browser tests: installing chromium with apt-get (${CHROMIUM} is missing)\n`)
  const apt = (...args: Array<string>) =>
    spawnSync(root ? "apt-get" : "sudo", root ? args : ["-n", "apt-get", ...args], {
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 15 * 60_000
    })
  const update = apt("update")
  const install = update.status === 0 ? apt("install", "-y", "--no-install-recommends", "chromium") : update
  if (existsSync(CHROMIUM)) return { path: CHROMIUM }
  return { skip: `${CHROMIUM} is missing and apt-get could not install it (${tail(install)})` }
}
