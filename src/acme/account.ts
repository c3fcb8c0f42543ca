/**
 * @module acme/account
 *
 * The ACME account: its key created once and kept (ECDSA P-256, 0600 under `<dataDir>/acme`),
 * registered with the CA or found again with that key, and its URL and contact stored.
 */
import { Client, crypto as acmeCrypto } from 'acme-client';
import type { AcmeConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AcmeStorage } from './storage.js';
import type { AcmeManagerOptions } from './types.js';

export interface AccountOptions {
  config: AcmeConfig;
  storage: AcmeStorage;
  /** Polling of challenges and orders the CA is still processing. */
  poll: AcmeManagerOptions['poll'];
  logger: Logger;
  now: () => number;
  /** Called when the CA gave an account URL that was not the stored one. */
  onRegistered: () => void;
}

/** A client signed in to the CA with the stored account (registered first when there is none). */
export async function openAccount(o: AccountOptions): Promise<Client> {
  const { directoryUrl, email } = o.config;
  let accountKey = await o.storage.loadAccountKey();
  if (accountKey === undefined) {
    accountKey = await acmeCrypto.createPrivateEcdsaKey('P-256');
    await o.storage.saveAccountKey(accountKey);
    o.logger.info({ file: o.storage.accountKeyPath }, 'created an ACME account key');
  }
  const poll = o.poll ?? {};
  const client = new Client({
    directoryUrl,
    accountKey,
    backoffAttempts: poll.attempts ?? 20,
    backoffMin: poll.minMs ?? 1_000,
    backoffMax: poll.maxMs ?? 10_000,
  });
  // newAccount with a known key returns the existing account (RFC 8555 §7.3.1), so this
  // both registers a first account and finds the stored one again.
  await client.createAccount({ termsOfServiceAgreed: true, ...(email !== undefined ? { contact: [`mailto:${email}`] } : {}) });
  const url = client.getAccountUrl();
  const stored = await o.storage.loadAccount();
  if (stored?.url !== url || stored.email !== email) {
    if (stored?.url !== url) {
      o.onRegistered();
      o.logger.info({ account: url, directoryUrl, ...(stored ? { previous: stored.url } : {}) }, 'registered an ACME account');
    }
    await o.storage.saveAccount({
      url,
      ...(email !== undefined ? { email } : {}),
      directoryUrl,
      createdAt: stored?.url === url ? stored.createdAt : new Date(o.now()).toISOString(),
    });
  } else {
    o.logger.debug({ account: url }, 'using the stored ACME account');
  }
  return client;
}
