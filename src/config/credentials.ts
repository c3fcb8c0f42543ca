/**
 * @module config/credentials
 *
 * Pure: what a channel's credentials amount to. Whether it checks POSTs at all, how that reads
 * in words at start (no secrets), and the safety rules on a reachable address: no channel
 * without credentials, no secret short enough to guess.
 */
import { ENV } from './env-names.js';
import type { ReportIssue } from './resolve-values.js';
import type { ChannelConfig } from './types.js';

/** Secrets shorter than this are refused outside loopback-only set-ups (see SECURITY.md). */
export const MIN_SECRET_LENGTH = 16;

/** True when the channel checks POSTs at all. */
export function hasCredentials(channel: ChannelConfig): boolean {
  return channel.basicAuth.length > 0 || channel.meta.appSecrets.length > 0;
}

/** What a POST to this channel must carry, in words (no secrets). */
export function describeCredentials(channel: ChannelConfig): string[] {
  const out: string[] = [];
  const basic = channel.basicAuth;
  if (basic.length > 0) {
    const users = [...new Set(basic.map((c) => `"${c.username}"`))].join(', ');
    out.push(`HTTP Basic auth as ${users}${basic.length > 1 ? ` (${basic.length} credentials)` : ''}`);
  }
  const secrets = channel.meta.appSecrets.length;
  if (secrets > 0) out.push(`Meta X-Hub-Signature-256 with ${secrets === 1 ? 'the app secret' : `one of ${secrets} app secrets`}`);
  if (!hasCredentials(channel)) out.push('NOTHING: unauthenticated POSTs are accepted (direct loopback clients only)');
  if (channel.meta.verifyTokens.length > 0) out.push('GET handshake answered for the configured verify token');
  return out;
}

/** The credentials of a resolved config and how far the server can be reached. */
export interface CredentialCheckInput {
  channels: readonly ChannelConfig[];
  /** Where to point a user at for each channel, by index. */
  channelKeys: readonly string[];
  /** True when the channels come from the config file; false: from the environment (`BLUETICK_BASIC_AUTH`). */
  channelsFromFile: boolean;
  /** Other secrets: the key that set each (for the message), what it is, and its value when set. */
  secrets: ReadonlyArray<{ key: string; what: string; value: string | undefined }>;
  host: string;
  behindProxy: boolean;
  /** Reachable from this machine alone: then the rules below warn instead of refusing. */
  loopbackOnly: boolean;
}

/**
 * Channels without credentials and secrets too short to resist guessing: `BT_ERR_CONFIG_UNSAFE`
 * through `unsafe` on a reachable server, a warning when only this machine can reach it.
 */
export function checkCredentials(input: CredentialCheckInput, unsafe: ReportIssue, warnings: string[]): void {
  const { channels, host, behindProxy, loopbackOnly } = input;
  channels.forEach((c, i) => {
    const key = input.channelKeys[i] ?? `channels[${i}]`;
    if (!hasCredentials(c)) {
      if (loopbackOnly) {
        warnings.push(
          `${key}: channel "${c.name}" has no credentials (basicAuth or meta.appSecrets) and accepts UNAUTHENTICATED posts; ` +
            `this is allowed only because ${host} is a loopback address with no proxy in front`,
        );
      } else {
        unsafe(
          key,
          `channel "${c.name}" has no credentials (basicAuth or meta.appSecrets); ` +
            (behindProxy
              ? 'behind a proxy every request arrives from loopback, so unauthenticated ingest is refused: '
              : `unauthenticated ingest is only allowed on a loopback host, not ${host}: `) +
            `set ${ENV.basicAuth}=user:password or ${ENV.metaAppSecret} (or basicAuth / meta.appSecrets per channel in the config file)`,
        );
      }
    } else if (c.provider === 'meta' && c.meta.appSecrets.length === 0) {
      warnings.push(
        `${key}: provider is "meta" but meta.appSecrets is empty; Meta signs its POSTs with X-Hub-Signature-256 and sends no Basic credentials`,
      );
    }
  });

  // ---- secrets long enough to resist guessing -------------------------------------------
  const shortSecret = (path: string, what: string, length: number): void => {
    const why = `${what} has ${length} characters; use at least ${MIN_SECRET_LENGTH} (e.g. \`openssl rand -hex 16\`)`;
    if (loopbackOnly) warnings.push(`${path}: ${why}; allowed only because the server is reachable from this machine alone`);
    else unsafe(path, `${why}: a short secret can be guessed by anyone who can reach ${behindProxy ? 'the proxy' : host}`);
  };
  for (const secret of input.secrets) {
    if (secret.value !== undefined && secret.value.length < MIN_SECRET_LENGTH) shortSecret(secret.key, secret.what, secret.value.length);
  }
  channels.forEach((c, i) => {
    c.basicAuth.forEach((credential, j) => {
      if (credential.password.length < MIN_SECRET_LENGTH) {
        const path = input.channelsFromFile ? `channels[${i}].basicAuth[${j}]` : ENV.basicAuth;
        shortSecret(path, `the Basic password of "${credential.username}"`, credential.password.length);
      }
    });
  });
}
