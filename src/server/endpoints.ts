/**
 * @module server/endpoints
 *
 * What the server tells the world once it listens: its base URL, each channel's webhook URL
 * with what a POST to it must carry, a warning per unauthenticated channel, and the banner.
 */
import type { AddressInfo } from 'node:net';
import { describeCredentials, hasCredentials } from '../config/credentials.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { formatHost } from './http.js';
import type { WebhookEndpoint } from './types.js';

export interface Endpoints {
  url: string;
  webhooks: WebhookEndpoint[];
  webhookUrls: Record<string, string>;
}

/** The public URLs, logged: the start banner and a warning per channel that checks nothing. */
export function announceEndpoints(config: Config, address: AddressInfo, servesTls: boolean, logger: Logger): Endpoints {
  const sc = config.server;
  // With ACME the public name is the first domain, as providers will post to it.
  const url = sc.acme
    ? `https://${sc.acme.domains[0]}${address.port === 443 ? '' : `:${address.port}`}`
    : `${servesTls ? 'https' : 'http'}://${formatHost(sc.host)}:${address.port}`;
  const webhooks: WebhookEndpoint[] = config.channels.map((c) => ({
    channel: c.name,
    url: `${url}${c.path}`,
    provider: c.provider,
    credentials: describeCredentials(c),
  }));
  const webhookUrls = Object.fromEntries(webhooks.map((w) => [w.channel, w.url]));
  for (const c of config.channels) {
    if (!hasCredentials(c)) {
      logger.warn({ channel: c.name, path: c.path }, 'channel accepts UNAUTHENTICATED posts (direct loopback clients only)');
    }
  }
  logger.info({ url, channels: webhooks.map((w) => ({ channel: w.channel, url: w.url })) }, 'bluetick is listening');
  return { url, webhooks, webhookUrls };
}
