import { mkdirSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { KeyringShape } from "../core/index.ts"
import { type LoadedConfig, loadConfig } from "../config/index.ts"
import { loadKeyring } from "./keyring.ts"

/**
 * What a relay process on Node starts from, read from the environment: the config
 * (`RELAY_CONFIG`) and the data directory (`RELAY_DATA_DIR`) with its keyring. The server and
 * the command line both start here, so they always open the same store. Throws ConfigError.
 */
export const loadNodeSetup = async (
  env: Readonly<Record<string, string | undefined>>
): Promise<{ readonly config: LoadedConfig; readonly keyring: KeyringShape; readonly dataDir: string }> => {
  const dataDir = resolve(env.RELAY_DATA_DIR ?? "./data")
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const config = await loadConfig(pathToFileURL(resolve(env.RELAY_CONFIG ?? "./relay.config.ts")), env, dataDir)
  return { config, keyring: await loadKeyring(env, dataDir), dataDir }
}
