/** What a config file imports: `defineConfig`, the plugin factories, and the shipped defaults. */
export * from "./kit.ts"
export { ConfigError, type ConfigDeclaration, defineConfig, errorText, type LoadedConfig, loadConfig, resolveConfig } from "./load.ts"
export type { ConfigKit } from "./load.ts"
