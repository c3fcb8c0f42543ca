/**
 * @module config/resolve-channels
 *
 * Pure: the channels (ingest paths and their credentials) from the config file, or, when the
 * file declares none, the one default channel from the environment. Names and paths unique.
 */
import { ENV } from './env-names.js';
import type { ReportIssue } from './resolve-values.js';
import { CHANNEL_NAME_PATTERN, DEFAULT_CHANNEL_NAME, WEBHOOK_PATH_PREFIX, type WrittenBasicCredential, type WrittenConfig } from './schema.js';
import type { BasicCredential, ChannelConfig } from './types.js';

export interface ResolvedChannels {
  channels: ChannelConfig[];
  /** Where to point a user at when a channel has a problem, by index. */
  channelKeys: string[];
}

function splitBasic(credential: WrittenBasicCredential): BasicCredential {
  if (typeof credential !== 'string') return { username: credential.username, password: credential.password };
  const colon = credential.indexOf(':');
  return { username: credential.slice(0, colon), password: credential.slice(colon + 1) };
}

const WEBHOOK_PATH = /^\/webhooks(\/[A-Za-z0-9._~-]+)+$/;

function checkWebhookPath(path: string): string | undefined {
  if (!WEBHOOK_PATH.test(path)) {
    return `expected a path under ${WEBHOOK_PATH_PREFIX} made of letters, digits, ".", "_", "~" or "-" (no query, no trailing "/")`;
  }
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'a path cannot contain "." or ".." segments';
  }
  return undefined;
}

/** The file's `channels`, or the default channel with credentials from the environment. */
export function resolveChannels(
  written: WrittenConfig,
  envValue: (name: string) => string | undefined,
  invalid: ReportIssue,
  warnings: string[],
): ResolvedChannels {
  const channels: ChannelConfig[] = [];
  const channelKeys: string[] = [];
  const credentialVars = [ENV.basicAuth, ENV.metaAppSecret, ENV.metaVerifyToken].filter((n) => envValue(n) !== undefined);

  if (written.channels !== undefined) {
    if (credentialVars.length > 0) {
      warnings.push(
        `${credentialVars.join(', ')} ${credentialVars.length === 1 ? 'is' : 'are'} ignored: the config file declares channels, each with its own credentials`,
      );
    }
    written.channels.forEach((c, i) => {
      const path = c.path ?? `${WEBHOOK_PATH_PREFIX}${c.name}`;
      if (c.path !== undefined) {
        const problem = checkWebhookPath(c.path);
        if (problem) invalid(`channels[${i}].path`, problem);
      }
      channels.push({
        name: c.name,
        path,
        provider: c.provider,
        basicAuth: (c.basicAuth ?? []).map(splitBasic),
        meta: { appSecrets: c.meta?.appSecrets ?? [], verifyTokens: c.meta?.verifyTokens ?? [] },
      });
      channelKeys.push(`channels[${i}]`);
    });
  } else {
    const basicAuth: BasicCredential[] = [];
    const rawBasic = envValue(ENV.basicAuth);
    if (rawBasic !== undefined) {
      const colon = rawBasic.indexOf(':');
      if (colon <= 0 || colon === rawBasic.length - 1) invalid(ENV.basicAuth, 'expected "user:password"');
      else basicAuth.push({ username: rawBasic.slice(0, colon), password: rawBasic.slice(colon + 1) });
    }
    const appSecrets = (envValue(ENV.metaAppSecret) ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const verifyToken = envValue(ENV.metaVerifyToken);
    channels.push({
      name: DEFAULT_CHANNEL_NAME,
      path: `${WEBHOOK_PATH_PREFIX}${DEFAULT_CHANNEL_NAME}`,
      provider: 'auto',
      basicAuth,
      meta: { appSecrets, verifyTokens: verifyToken === undefined ? [] : [verifyToken] },
    });
    channelKeys.push(`channels[0] ("${DEFAULT_CHANNEL_NAME}", credentials from ${ENV.basicAuth} / ${ENV.metaAppSecret})`);
  }

  const names = new Map<string, number>();
  const paths = new Map<string, number>();
  channels.forEach((c, i) => {
    const seenName = names.get(c.name);
    if (seenName !== undefined) invalid(`channels[${i}].name`, `"${c.name}" is already used by channels[${seenName}]`);
    else names.set(c.name, i);
    const seenPath = paths.get(c.path);
    if (seenPath !== undefined) invalid(`channels[${i}].path`, `"${c.path}" is already used by channels[${seenPath}]`);
    else paths.set(c.path, i);
    if (!CHANNEL_NAME_PATTERN.test(c.name)) invalid(`channels[${i}].name`, 'invalid channel name');
  });
  return { channels, channelKeys };
}
