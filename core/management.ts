import type { Account } from "./context.ts"
import type { Management, PluginHooks } from "./plugin.ts"

/**
 * Gathers what the plugins offer for managing the relay. The HTTP routes get it through their
 * RouteKit; the command line, which serves nothing, calls this directly.
 */
export const management = (plugins: ReadonlyArray<PluginHooks>): Management => {
  const views = plugins.flatMap((p) => (p.accountView ? [p.accountView] : []))
  return {
    accountView: (account: Account) => Object.assign({}, ...views.map((view) => view(account))),
    findAccount: plugins.find((p) => p.findAccount)?.findAccount ?? (() => undefined),
    credit: plugins.find((p) => p.credit)?.credit,
    accounts: plugins.find((p) => p.accounts)?.accounts,
    usage: plugins.find((p) => p.usage)?.usage,
    vault: plugins.find((p) => p.vault)?.vault
  }
}
