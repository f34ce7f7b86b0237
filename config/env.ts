/** The environment as the config sees it: read through these helpers, never a runtime global. */
export interface ConfigEnv {
  /** The variable's value; unset and empty are both undefined. */
  get(name: string): string | undefined
  /** A comma-separated list (a key pool), blanks dropped. */
  list(name: string): Array<string>
  /** An integer variable, or `fallback` when unset; a malformed value is an error. */
  int(name: string, fallback: number): number
}

export const makeConfigEnv = (vars: Readonly<Record<string, string | undefined>>): ConfigEnv => {
  const get = (name: string) => {
    const value = vars[name]?.trim()
    return value === undefined || value === "" ? undefined : value
  }
  return {
    get,
    list: (name) => (get(name) ?? "").split(",").map((item) => item.trim()).filter((item) => item !== ""),
    int: (name, fallback) => {
      const value = get(name)
      if (value === undefined) return fallback
      if (!/^\d+$/.test(value)) throw new Error(`environment variable ${name} must be a whole number, got "${value}"`)
      return Number(value)
    }
  }
}
