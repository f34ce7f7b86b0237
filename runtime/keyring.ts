import { existsSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type KeyringShape, type MasterKey, randomBase62 } from "../core/index.ts"
import { ConfigError } from "../config/index.ts"

const KEY_BYTES = 32

/** A 32-byte key written as base64 or hex; undefined if it is neither. */
const decodeKey = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  const trimmed = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Uint8Array.from(trimmed.match(/../g)!.map((byte) => Number.parseInt(byte, 16)))
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return undefined
  let binary: string
  try {
    binary = atob(trimmed.replace(/-/g, "+").replace(/_/g, "/"))
  } catch {
    return undefined
  }
  return binary.length === KEY_BYTES ? Uint8Array.from(binary, (char) => char.charCodeAt(0)) : undefined
}

const encodeKey = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes))

/** The key as WebCrypto sees it, named by the first 16 hex digits of its SHA-256. */
const importKey = async (bytes: Uint8Array<ArrayBuffer>): Promise<MasterKey> => {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))
  const id = Array.from(digest.slice(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("")
  const key = await crypto.subtle.importKey("raw", bytes, { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
  return { id, key }
}

const parseAll = (texts: ReadonlyArray<string>, source: string): Array<Uint8Array<ArrayBuffer>> =>
  texts.map((text, index) => {
    const bytes = decodeKey(text)
    if (bytes === undefined) throw new ConfigError(`${source}: key ${index + 1} is not 32 bytes of base64 or hex`)
    return bytes
  })

/**
 * The master keys that seal BYOK credentials. From `RELAY_MASTER_KEY` (with retired keys in
 * `RELAY_MASTER_KEY_PREVIOUS`, comma-separated, while rows are re-sealed), or else from
 * `master.key` in the data directory: generated on first start with mode 0600, one base64 key
 * a line, the current one first.
 */
export const loadKeyring = async (vars: Readonly<Record<string, string | undefined>>, dataDir: string): Promise<KeyringShape> => {
  const fromEnv = vars.RELAY_MASTER_KEY?.trim()
  const file = join(dataDir, "master.key")
  const readFile = () => parseAll(readFileSync(file, "utf8").split("\n").filter((line) => line.trim() !== ""), file)
  // Written whole to a private file of this process's own, then moved into place: a crash
  // leaves the old file, and commands starting together never share a half-written one.
  const writeTemporary = (keys: ReadonlyArray<Uint8Array>) => {
    const temporary = `${file}.${process.pid}.${randomBase62(8)}.tmp`
    writeFileSync(temporary, `${keys.map(encodeKey).join("\n")}\n`, { mode: 0o600 })
    return temporary
  }
  /**
   * The first key, generated unless another process got there first. Linking fails if the
   * file exists, so of several relays or commands starting on a new data directory one key
   * wins and all of them seal with it.
   */
  const createOnce = () => {
    const fresh = [crypto.getRandomValues(new Uint8Array(KEY_BYTES))]
    const temporary = writeTemporary(fresh)
    try {
      linkSync(temporary, file)
      return fresh
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      return readFile()
    } finally {
      unlinkSync(temporary)
    }
  }

  let raw: Array<Uint8Array<ArrayBuffer>>
  if (fromEnv) {
    const previous = (vars.RELAY_MASTER_KEY_PREVIOUS ?? "").split(",").map((key) => key.trim()).filter((key) => key !== "")
    raw = parseAll([fromEnv, ...previous], "RELAY_MASTER_KEY")
  } else {
    raw = existsSync(file) ? readFile() : createOnce()
  }
  const save = () => renameSync(writeTemporary(raw), file)

  let keys = await Promise.all(raw.map(importKey))
  return {
    get current() {
      return keys[0]!
    },
    find: (id) => keys.find((key) => key.id === id),
    rotate: async () => {
      if (fromEnv) return false
      const fresh = crypto.getRandomValues(new Uint8Array(KEY_BYTES))
      raw = [fresh, ...raw]
      save()
      keys = [await importKey(fresh), ...keys]
      return true
    },
    retire: async () => {
      if (fromEnv) return
      raw = raw.slice(0, 1)
      keys = keys.slice(0, 1)
      save()
    }
  }
}
