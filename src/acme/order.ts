/**
 * @module acme/order
 *
 * One certificate order: authorizations proved with the configured challenge (HTTP-01 on
 * the port-80 listener, TLS-ALPN-01 on the TLS port), a fresh RSA-2048 key and its CSR,
 * the order finalized and the chain fetched.
 */
import { crypto as acmeCrypto, type Authorization, type Client } from 'acme-client';
import type { AcmeChallenge } from '../config/schema.js';
import { BluetickError } from '../errors.js';
import type { Http01Responder, TlsAlpnResponder } from './challenges.js';

/** Where challenge answers go while an authorization is being proved; absent until the manager has started. */
export interface ChallengeResponders {
  http: Http01Responder | undefined;
  alpn: TlsAlpnResponder | undefined;
}

/** Orders a certificate for `domain`: the chain (PEM) and its new private key. */
export async function orderCertificate(
  client: Client,
  domain: string,
  type: AcmeChallenge,
  responders: ChallengeResponders,
): Promise<{ cert: Buffer; key: Buffer }> {
  const order = await client.createOrder({ identifiers: [{ type: 'dns', value: domain }] });
  const authorizations = await client.getAuthorizations(order);
  for (const authz of authorizations) {
    if (authz.status === 'valid') continue;
    if (authz.status !== 'pending') throw new BluetickError('BT_ERR_ACME_ORDER', `the CA's authorization for ${authz.identifier.value} is ${authz.status}`);
    await solve(client, authz, type, responders);
  }
  const key = await acmeCrypto.createPrivateRsaKey(2048);
  const [, csr] = await acmeCrypto.createCsr({ commonName: domain, altNames: [domain] }, key);
  const finalized = await client.finalizeOrder(order, csr);
  const chain = await client.getCertificate(finalized);
  return { cert: Buffer.from(chain), key };
}

async function solve(client: Client, authz: Authorization, type: AcmeChallenge, responders: ChallengeResponders): Promise<void> {
  const domain = authz.identifier.value;
  const challenge = authz.challenges.find((c) => c.type === type);
  if (challenge === undefined) {
    throw new BluetickError('BT_ERR_ACME_ORDER', `the CA offers no ${type} challenge for ${domain} (it offers ${authz.challenges.map((c) => c.type).join(', ')})`);
  }
  const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
  const token = (challenge as { token?: string }).token ?? '';
  if (type === 'http-01') {
    responders.http?.set(token, keyAuthorization);
  } else {
    const challengeKey = await acmeCrypto.createPrivateEcdsaKey('P-256');
    const [key, cert] = await acmeCrypto.createAlpnCertificate(authz, keyAuthorization, challengeKey);
    responders.alpn?.set(domain, { cert, key });
  }
  try {
    await client.completeChallenge(challenge);
    await client.waitForValidStatus(authz);
  } finally {
    if (type === 'http-01') responders.http?.delete(token);
    else responders.alpn?.delete(domain);
  }
}
