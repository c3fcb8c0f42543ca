/**
 * @module bluetick
 *
 * The public library API.
 *
 * - Receive webhooks in your own server and only want the events? Use {@link normalize}
 *   (pure, no IO) on the raw body, after checking it with {@link verifyMetaSignature} or
 *   {@link verifyBasic}.
 * - Want the whole durable receiver? {@link loadConfig} + {@link startServer}.
 * - Want it with your own code receiving the events? {@link createBluetick} and `app.on(type, handler)`.
 *
 * Every export is described in docs/reference/library.md (a test fails when one is not).
 *
 * @example
 * ```ts
 * import { normalize, serializeEvent } from 'bluetick';
 *
 * const result = normalize(rawBody, { channel: 'default', receivedAt: Date.now() });
 * if (result.ok) for (const event of result.events) console.log(serializeEvent(event));
 * ```
 */

export { normalize, normalizePayload, parseBody, parseEventJson, serializeEvent } from './events/normalize.js';
export type { NormalizeContext, NormalizeResult, ParseResult } from './events/normalize.js';
export { EVENT_TYPES, NAMED_ONLY_TYPES } from './events/types.js';
export type {
  AccountAlertEvent,
  AccountCapabilityEvent,
  AccountErrorEvent,
  AccountReviewEvent,
  AccountSecurityEvent,
  AccountUpdateEvent,
  BluetickEvent,
  CallStatusEvent,
  ContactSyncEvent,
  ConversationHandoverEvent,
  EventBase,
  EventOfType,
  EventType,
  JsonObject,
  FlowStatusEvent,
  GroupUpdateEvent,
  HistorySyncEvent,
  JsonValue,
  MessageEchoEvent,
  MessageKeys,
  MessageReactionEvent,
  MessageReceivedEvent,
  MessageStandbyEvent,
  MessageStatusEvent,
  PhoneNameEvent,
  PhoneQualityEvent,
  Provider,
  StatusKeys,
  TemplateCategoryEvent,
  TemplateComponentsEvent,
  TemplateQualityEvent,
  TemplateStatusEvent,
  UnknownEvent,
  UserIdentityEvent,
  UserKeys,
  UserPreferencesEvent,
} from './events/types.js';

export { BluetickError, ConfigError, ERROR_CODES } from './errors.js';
export type { ErrorCode } from './errors.js';

export { loadConfig } from './config/load.js';
export type { LoadConfigOptions, LoadedConfig } from './config/load.js';
export { resolveConfig } from './config/resolve.js';
export type { BasicCredential, ChannelConfig, Config, ConfigIssue, ResolveResult, ServerConfig } from './config/types.js';
export type { WrittenConfigInput } from './config/schema.js';

export { createBluetick } from './bluetick.js';
export type { Bluetick, BluetickOptions, Handler, HandlerContext, HandlerFilter, HandlerOptions } from './bluetick.js';
export { NonRetriableError, RetryAfterError } from './dispatch/control.js';
export { DEFAULT_RETRY_POLICY } from './dispatch/retry.js';
export type { RetryPolicy, RetryPolicyInput } from './dispatch/retry.js';
export type { EventTypePattern, EventTypePrefix, RouteConfig, RouteMatch } from './dispatch/match.js';
export type { HttpSinkConfig, NatsSinkConfig, SinkConfig } from './dispatch/sinks.js';
export type { Delivery, DeliveryAttempt, DeliveryState } from './store/deliveries.js';
export type { OutboundInput, OutboundRecord } from './store/outbound.js';
export type { ApiToken, AuditEntry, Role } from './store/access.js';

export { startServer } from './server.js';
export type { RunningServer, ServerMetrics, StartServerOptions, WebhookEndpoint } from './server.js';
export type { AdminTokenInfo } from './api/admin-token.js';

export { signMeta, verifyMetaSignature } from './ingest/verify-meta.js';
export type { MetaVerification } from './ingest/verify-meta.js';
export { encodeBasicAuthorization, parseBasicAuthorization, verifyBasic } from './ingest/verify-basic.js';
export { answerChallenge } from './ingest/challenge.js';
export type { ChallengeAnswer } from './ingest/challenge.js';
