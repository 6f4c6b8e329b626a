export interface SecretValue {
  name: string;
  version: string;
  value: string;
}

export interface SecretsCapabilities {
  versions: boolean;
  rotation: boolean;
}

export interface SecretsRole {
  readonly capabilities: SecretsCapabilities;
  /** Throws BridgeError SECRET_NOT_FOUND. Values are cached for the provider's TTL. */
  get(name: string, options?: { version?: string }): Promise<SecretValue>;
  /** Replaces every string of the form `secret:NAME` (or `secret:NAME@VERSION`) in a plain object. */
  resolveReferences<T>(value: T): Promise<T>;
}
