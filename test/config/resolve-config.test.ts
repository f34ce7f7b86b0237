import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { RELAY_TIERS } from "../../config/defaults.ts"
import type { ConfigEnv } from "../../config/env.ts"
import { ConfigError, type ConfigKit, defineConfig, resolveConfig } from "../../config/load.ts"
import { keys } from "../../plugins/keys/index.ts"
import { echo } from "../../plugins/providers/echo/index.ts"

const DATA = "/var/lib/relay"

const valid = () => ({
  plugins: [keys(), echo()],
  models: [{ id: "echo-1", provider: "echo", maxOutputTokens: 4_096, pricing: { input: "0.15", output: 2 } }]
})

/**
 * Asserts `fn` throws a ConfigError whose message names `path` (as "at <path>" unless `loose`,
 * for environment variables); returns the message.
 */
const configError = (fn: () => unknown, path: string, loose = false): string => {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`)
  assert.equal(caught.name, "ConfigError")
  assert.ok(caught.message.includes(loose ? path : `at ${path}`), `message should name ${path}: ${caught.message}`)
  return caught.message
}

describe("resolveConfig: defaults", () => {
  it("fills in every default", () => {
    const declaration = valid()
    const config = resolveConfig(declaration, {}, DATA)
    assert.deepEqual(config.server, {
      host: "127.0.0.1",
      port: 8787,
      maxBodyBytes: 25 * 1024 * 1024,
      maxUploadBytes: 64 * 1024 * 1024,
      drainSeconds: 30,
      headersTimeoutSeconds: 10,
      bodyTimeoutSeconds: 10,
      bodyMinBytesPerSecond: 256 * 1024,
      keepAliveSeconds: 5,
      maxConnections: 16_384,
      maxBodyBytesInFlightPerKey: 128 * 1024 * 1024,
      authFailuresPerMinute: 30,
      adminKey: undefined,
      corsOrigins: undefined
    })
    assert.equal(config.storePath, `${DATA}/relay.db`)
    assert.deepEqual(config.tiers, RELAY_TIERS)
    assert.equal(config.defaultTier, "starter")
    assert.deepEqual(config.plugins.map((p) => p.name), ["keys", "echo"])
    assert.equal(config.plugins[0], declaration.plugins[0], "plugins are passed through as given")
    assert.equal(config.models.length, 1)
    assert.equal(config.models[0]!.maxOutputTokens, 4_096)
  })

  it("has no models when none are declared", () => {
    assert.deepEqual(resolveConfig({ plugins: [keys()] }, {}, DATA).models, [])
  })

  it("keeps what the file declares", () => {
    const config = resolveConfig(
      {
        ...valid(),
        server: { host: "0.0.0.0", port: 9000, maxBodyBytes: 1024, drainSeconds: 5, adminKey: "file-admin", corsOrigins: ["https://app.example"] },
        store: { path: "/tmp/other.db" },
        tiers: { gold: { rpm: 10, tpm: 1000 }, silver: { rpm: 5, tpm: 500 } }
      },
      {},
      DATA
    )
    assert.deepEqual(config.server, {
      host: "0.0.0.0",
      port: 9000,
      maxBodyBytes: 1024,
      maxUploadBytes: 64 * 1024 * 1024,
      drainSeconds: 5,
      headersTimeoutSeconds: 10,
      bodyTimeoutSeconds: 10,
      bodyMinBytesPerSecond: 256 * 1024,
      keepAliveSeconds: 5,
      maxConnections: 16_384,
      maxBodyBytesInFlightPerKey: 128 * 1024 * 1024,
      authFailuresPerMinute: 30,
      adminKey: "file-admin",
      corsOrigins: ["https://app.example"]
    })
    assert.equal(config.storePath, "/tmp/other.db")
    assert.equal(config.defaultTier, "gold", "the first tier is the default")
  })

  it("accepts an explicit defaultTier among the tiers", () => {
    assert.equal(resolveConfig({ ...valid(), defaultTier: "enterprise" }, {}, DATA).defaultTier, "enterprise")
  })

  it("defineConfig returns the declaration itself", () => {
    const declaration = valid()
    assert.equal(defineConfig(declaration), declaration)
  })
})

describe("resolveConfig: environment", () => {
  it("PORT, HOST and RELAY_ADMIN_KEY win over the file", () => {
    const config = resolveConfig(
      { ...valid(), server: { host: "127.0.0.1", port: 8000, adminKey: "from-file" } },
      { PORT: "9090", HOST: "0.0.0.0", RELAY_ADMIN_KEY: "from-env" },
      DATA
    )
    assert.equal(config.server.port, 9090)
    assert.equal(config.server.host, "0.0.0.0")
    assert.equal(config.server.adminKey, "from-env")
  })

  it("empty or blank variables count as unset", () => {
    const config = resolveConfig({ ...valid(), server: { port: 8000 } }, { PORT: "", HOST: "  ", RELAY_ADMIN_KEY: "" }, DATA)
    assert.equal(config.server.port, 8000)
    assert.equal(config.server.host, "127.0.0.1")
    assert.equal(config.server.adminKey, undefined)
  })

  it("a function declaration receives env helpers over the given variables", () => {
    let seen: ConfigEnv | undefined
    const lists: Array<Array<string>> = []
    const config = resolveConfig(
      (env: ConfigEnv) => {
        seen = env
        lists.push(env.list("K"), env.list("MISSING"))
        return {
          plugins: [keys(), echo()],
          server: { host: env.get("MY_HOST") ?? "localhost", port: env.int("MY_PORT", 1234), drainSeconds: env.int("DRAIN", 7) }
        }
      },
      { K: "a, b,,c", MY_HOST: " box.local ", MY_PORT: "4321" },
      DATA
    )
    assert.ok(seen !== undefined)
    assert.deepEqual(lists, [["a", "b", "c"], []])
    assert.equal(config.server.host, "box.local")
    assert.equal(config.server.port, 4321)
    assert.equal(config.server.drainSeconds, 7)
    assert.equal(seen.get("NOPE"), undefined)
  })

  it("a function declaration also receives what config/index.ts exports, so it needs no import", async () => {
    const exported = await import("../../config/index.ts")
    let seen: ConfigKit | undefined
    const config = resolveConfig(
      (relay: ConfigKit) => {
        seen = relay
        return { models: relay.DEFAULT_MODELS, plugins: [relay.keys(), relay.echo()], server: { port: relay.int("MY_PORT", 1) } }
      },
      { MY_PORT: "4321" },
      DATA
    )
    assert.ok(seen !== undefined)
    for (const name of Object.keys(exported)) assert.equal(seen[name as keyof ConfigKit], exported[name as keyof typeof exported], name)
    assert.equal(config.models.length, exported.DEFAULT_MODELS.length)
    assert.deepEqual(config.plugins.map((p) => p.name), ["keys", "echo"])
    assert.equal(config.server.port, 4321)
  })

  it("a malformed PORT is a ConfigError naming PORT", () => {
    const message = configError(() => resolveConfig(valid(), { PORT: "80a" }, DATA), "PORT", true)
    assert.match(message, /80a/)
  })

  it("an out-of-range PORT is a ConfigError, like server.port", () => {
    configError(() => resolveConfig(valid(), { PORT: "70000" }, DATA), "PORT", true)
  })
})

describe("resolveConfig: errors name the path at fault", () => {
  it("models[0].maxOutputTokens for a negative number", () => {
    configError(() => resolveConfig({ ...valid(), models: [{ id: "m", provider: "echo", maxOutputTokens: -5 }] }, {}, DATA), "models[0].maxOutputTokens")
  })

  it("models[1].provider when it is missing", () => {
    configError(
      () => resolveConfig({ ...valid(), models: [{ id: "a", provider: "echo" }, { id: "b" }] }, {}, DATA),
      "models[1].provider"
    )
  })

  it("a model price that is not a decimal", () => {
    configError(
      () => resolveConfig({ ...valid(), models: [{ id: "a", provider: "echo", pricing: { input: "1,50" } }] }, {}, DATA),
      "models[0].pricing.input"
    )
  })

  it("plugins[1] for a value that is not a plugin", () => {
    const message = configError(() => resolveConfig({ plugins: [keys(), { name: "fake" }] }, {}, DATA), "plugins[1]")
    assert.match(message, /plugin/)
  })

  it("plugins when there are none", () => {
    configError(() => resolveConfig({ plugins: [] }, {}, DATA), "plugins")
    configError(() => resolveConfig({}, {}, DATA), "plugins")
  })

  it("server.port for 70000", () => {
    configError(() => resolveConfig({ ...valid(), server: { port: 70000 } }, {}, DATA), "server.port")
  })

  it("server.maxBodyBytes for 0", () => {
    configError(() => resolveConfig({ ...valid(), server: { maxBodyBytes: 0 } }, {}, DATA), "server.maxBodyBytes")
  })

  it("tiers.<name>.rpm for a negative limit", () => {
    configError(() => resolveConfig({ ...valid(), tiers: { pro: { rpm: -1, tpm: 0 } } }, {}, DATA), "tiers.pro.rpm")
  })

  it("models for a duplicate model id, naming it", () => {
    const message = configError(
      () => resolveConfig({ ...valid(), models: [{ id: "dup", provider: "echo" }, { id: "x", provider: "echo" }, { id: "dup", provider: "openai" }] }, {}, DATA),
      "models"
    )
    assert.match(message, /"dup"/)
  })

  it("plugins for a plugin declared twice", () => {
    const message = configError(() => resolveConfig({ plugins: [keys(), echo(), echo()] }, {}, DATA), "plugins")
    assert.match(message, /"echo"/)
  })

  it("defaultTier for an unknown tier, listing the known ones", () => {
    const message = configError(() => resolveConfig({ ...valid(), defaultTier: "gold" }, {}, DATA), "defaultTier")
    assert.match(message, /starter, professional, enterprise/)
  })

  it("the top level for a declaration that is not an object", () => {
    configError(() => resolveConfig("nope", {}, DATA), "the top level")
  })
})
