// The user's configuration (config.toml): where it is, loading it with clear errors, watching it,
// and reading host keys from known_hosts.
export { defaultConfigPath, expandPath } from './paths';
export { loadConfig, parseConfig, DEFAULT_KNOWN_HOSTS, type LoadOptions } from './load';
export { watchConfig, type WatchOptions } from './watch';
export { hostKeysFor, lookupKnownHosts, knownHostsName, type KnownHostsLookup } from './known-hosts';
export { ConfigError, formatProblem, type ConfigProblem } from './error';
export type { AppConfig, BastionConfig, PortRange, UserConfig, ZoneConfig } from './types';
