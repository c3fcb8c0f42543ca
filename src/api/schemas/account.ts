/**
 * @module api/schemas/account
 *
 * Answers about account state and the people and templates in it: consent, health of phone
 * numbers, business accounts and Flows, contacts, templates.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../../events/types.js';
import { component, iso } from './base.js';
import { pageQuery, stringListParam, textParam } from './queries.js';

const IDENTIFIER_KIND = z.enum(['phone', 'userId', 'username']);
const LINK_VIA = z.enum(['contacts', 'user_changed_number', 'user_changed_user_id', 'user_id_update']);

export const templateComponentsSchema = component(
  'TemplateComponents',
  z.strictObject({
    body: z.string().optional(),
    header: z.string().optional(),
    footer: z.string().optional(),
    buttons: z.array(z.string()).optional().meta({ description: 'Each button as `<type>: <text>`.' }),
  }),
  "A template's content as its latest `template.components` event states it.",
);

const changeSchema = component(
  'Change',
  z.strictObject({
    eventId: z.string(),
    type: z.enum(EVENT_TYPES),
    at: iso(),
    kind: z.string().optional(),
    status: z.string().optional(),
    detail: z.string().optional(),
    reason: z.string().optional(),
    userId: z.string().optional(),
    phoneNumberId: z.string().optional(),
  }),
  'One change in a row\'s history (the latest 20 are kept; `/api/events` has every one).',
);

const factSchema = component(
  'Fact',
  z.strictObject({
    value: z.string().meta({ description: 'As sent.' }),
    at: iso(),
    eventId: z.string(),
    detail: z.string().optional(),
    reason: z.string().optional(),
  }),
  'One current value, with the time and event it comes from (the latest by the time it happened).',
);

export const consentSchema = component(
  'Consent',
  z.strictObject({
    key: z.string().meta({ description: '`<businessAccountId>:<user>:<category>`.' }),
    businessAccountId: z.string().optional(),
    contact: z.string().meta({ description: 'The user: wa_id, else business-scoped user id.' }),
    waId: z.string().optional(),
    userId: z.string().optional(),
    category: z.string().meta({ description: 'As sent: `marketing_messages`, ...' }),
    state: z.string().meta({ description: 'The latest choice as sent: `stop` or `resume`.' }),
    optedOut: z.boolean(),
    changedAt: iso(),
    reason: z.string().optional(),
    eventId: z.string(),
    phoneNumberId: z.string().optional(),
    history: z.array(changeSchema),
  }),
  "A user's latest choice for one category of messages (`user.preferences`), resolved by when the user made it.",
);

export const consentQuery = z.strictObject({
  ...pageQuery,
  category: stringListParam('Category as sent (`marketing_messages`).'),
  state: stringListParam('Latest choice as sent: `stop`, `resume`.'),
  contact: textParam('The user: wa_id, or business-scoped user id for users without one.'),
  businessAccountId: textParam('Business account id.'),
});

export const phoneNumberHealthSchema = component(
  'PhoneNumberHealth',
  z.strictObject({
    key: z.string(),
    displayPhoneNumber: z.string(),
    businessAccountId: z.string().optional(),
    quality: factSchema.optional().meta({ description: '`FLAGGED` (quality dropping) or `UNFLAGGED`.' }),
    messagingLimit: factSchema.optional().meta({ description: 'Tier as sent (`TIER_1K`, ...); `detail` the event.' }),
    throughput: factSchema.optional().meta({ description: 'The latest throughput event; `detail` the level.' }),
    displayName: factSchema.optional().meta({ description: 'Display-name decision; `detail` the requested name.' }),
    updatedAt: iso(),
    history: z.array(changeSchema),
  }),
);

export const businessAccountHealthSchema = component(
  'BusinessAccountHealth',
  z.strictObject({
    key: z.string(),
    businessAccountId: z.string(),
    status: factSchema.optional(),
    review: factSchema.optional(),
    alerts: z.record(z.string(), factSchema).meta({ description: 'By alert type: the latest status of each.' }),
    capabilities: z
      .strictObject({ at: iso(), eventId: z.string(), limits: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) })
      .optional(),
    security: factSchema.optional(),
    lastError: factSchema.optional().meta({ description: 'Errors attached to no message: `value` their codes.' }),
    updatedAt: iso(),
    history: z.array(changeSchema),
  }),
);

export const flowHealthSchema = component(
  'FlowHealth',
  z.strictObject({
    key: z.string(),
    flowId: z.string(),
    businessAccountId: z.string().optional(),
    status: factSchema.optional().meta({ description: 'Flow status; `detail` the one before.' }),
    health: z.record(z.string(), factSchema).meta({ description: 'By Flow event (`ENDPOINT_ERROR_RATE`, ...): the alert state; `detail` the measured value.' }),
    updatedAt: iso(),
    history: z.array(changeSchema),
  }),
);

export const healthChangeSchema = component(
  'HealthChange',
  z.strictObject({
    entity: z.enum(['phone-number', 'business-account', 'flow', 'template']),
    key: z.string(),
    eventId: z.string(),
    type: z.enum(EVENT_TYPES),
    at: iso(),
    kind: z.string().optional(),
    status: z.string().optional(),
    detail: z.string().optional(),
    reason: z.string().optional(),
  }),
);

export const healthSchema = component(
  'Health',
  z.strictObject({
    phoneNumbers: z.array(phoneNumberHealthSchema),
    businessAccounts: z.array(businessAccountHealthSchema),
    flows: z.array(flowHealthSchema),
    timeline: z.array(healthChangeSchema).meta({ description: 'The latest 100 changes of every entity (templates included), newest first.' }),
  }),
  'Account health: each phone number, business account and Flow as last reported, and a timeline of changes.',
);

export const HEALTH_ENTITIES = ['phone-numbers', 'business-accounts', 'flows'] as const;

export const healthEntityPath = z.strictObject({
  entity: z.enum(HEALTH_ENTITIES, { error: `expected one of ${HEALTH_ENTITIES.join(', ')}` }).meta({ description: 'What kind of entity.' }),
  key: z.string().min(1).max(1024).meta({ description: 'Display phone number, business account id, or Flow id.' }),
});

export const contactSchema = component(
  'Contact',
  z.strictObject({
    waId: z.string(),
    profile: z.strictObject({ name: z.string(), at: iso(), eventId: z.string() }).optional(),
    firstSeenAt: iso(),
    lastSeenAt: iso(),
    newWaId: z.string().optional(),
    previousWaIds: z.array(z.string()).optional(),
    numberChanges: z.array(z.strictObject({ from: z.string(), to: z.string(), at: iso(), eventId: z.string() })),
    idKind: z.enum(['userId', 'username']).optional().meta({ description: 'What `waId` holds when it is not a wa_id: a business-scoped user id, or a username as `@name`.' }),
    aliases: z
      .array(z.strictObject({ key: z.string(), kind: IDENTIFIER_KIND, via: LINK_VIA, since: iso(), eventId: z.string() }))
      .optional()
      .meta({ description: 'Other identifiers of the same user, linked by a payload that named both.' }),
    newUserId: z.string().optional(),
    userIdChanges: z.array(z.strictObject({ from: z.string(), to: z.string(), via: LINK_VIA, at: iso(), eventId: z.string() })).optional(),
    consent: z.array(consentSchema).optional().meta({ description: 'GET /api/contacts/{id}: what the user chose per category (`/api/consent`).' }),
  }),
  'One identifier of a WhatsApp user: a wa_id, a business-scoped user id, or a username (`@name`).',
);

export const contactDetailSchema = component(
  'ContactDetail',
  contactSchema.extend({
    identity: z
      .strictObject({
        key: z.string().meta({ description: 'The row the asked identifier was found under.' }),
        current: z.strictObject({ waId: z.string().optional(), userId: z.string().optional(), username: z.string().optional() }),
        waIds: z.array(z.string()),
        userIds: z.array(z.string()),
        usernames: z.array(z.string()),
        profile: z.strictObject({ name: z.string(), at: iso(), eventId: z.string() }).optional(),
        firstSeenAt: iso(),
        lastSeenAt: iso(),
        merges: z
          .array(z.strictObject({ kind: z.enum(['alias', 'number', 'userId']), from: z.string(), to: z.string(), via: LINK_VIA, at: iso(), eventId: z.string() }))
          .meta({ description: 'Every link between the identifiers, oldest first.' }),
        truncated: z.literal(true).optional(),
      })
      .meta({ description: 'The whole user: every identifier linked to this one, the current ones, and the merge history.' }),
  }),
  'A contact found by any of its identifiers, with the user it belongs to.',
);

const templateHistoryEntry = component(
  'TemplateHistoryEntry',
  z.strictObject({
    eventId: z.string(),
    type: z.enum(['template.status', 'template.quality', 'template.category', 'template.components']),
    status: z.string().optional(),
    reason: z.string().optional(),
    occurredAt: iso().optional(),
    receivedAt: iso(),
    templateId: z.string().optional(),
    templateName: z.string().optional(),
    language: z.string().optional(),
    category: z.string().optional().meta({ description: '`template.status`: the category the status update names.' }),
    components: templateComponentsSchema.optional(),
  }),
);

export const templateSchema = component(
  'Template',
  z.strictObject({
    key: z.string().meta({ description: 'Template id, else `<name>:<language>`.' }),
    templateId: z.string().optional(),
    name: z.string().optional(),
    language: z.string().optional(),
    status: z.string().optional(),
    statusAt: iso().optional(),
    reason: z.string().optional(),
    quality: z.string().optional(),
    qualityAt: iso().optional(),
    category: z.string().optional(),
    categoryAt: iso().optional(),
    components: templateComponentsSchema.optional(),
    componentsAt: iso().optional(),
    updatedAt: iso(),
    history: z.array(templateHistoryEntry),
  }),
);
