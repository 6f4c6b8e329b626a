export interface SignedToken {
  token: string;
  keyId: string;
}

export interface MagicLink {
  token: string;
  expiresAt: string;
}

export interface CryptoCapabilities {
  keyRotation: boolean;
  magicLinks: boolean;
}

export interface CryptoRole {
  readonly capabilities: CryptoCapabilities;
  /** Returns a PHC string such as `$scrypt$ln=15,r=8,p=1$salt$hash`. */
  hashPassword(password: string): Promise<string>;
  verifyPassword(password: string, phc: string): Promise<boolean>;
  /** Signs a JSON payload with the active key; the token names the key id. */
  sign(payload: Record<string, unknown>, options?: { expiresInMs?: number }): Promise<SignedToken>;
  /** Throws BridgeError TOKEN_INVALID or TOKEN_EXPIRED. Verifies with retired keys too. */
  verify<T = Record<string, unknown>>(token: string): Promise<T>;
  /** Makes a new key active; older keys keep verifying. Returns the new key id. */
  rotateKey(): Promise<string>;
  createMagicLink(subject: string, options?: { ttlMs?: number; purpose?: string }): Promise<MagicLink>;
  /** Returns the subject once; a second use throws TOKEN_REUSED. */
  consumeMagicLink(token: string, options?: { purpose?: string }): Promise<string>;
}
