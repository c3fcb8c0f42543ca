/**
 * @module trigger/fields
 *
 * Notifications that are not messages: template changes (in Meta's envelope and as EnableX
 * status items) and the other webhook fields (account, phone number, Flows, identity), each
 * with the value its field carries. Pure: randomness from an `Rng`, time from the caller.
 */
import type { JsonObject, JsonValue } from '../events/types.js';
import type { TriggerKind } from './kinds.js';
import type { Rng } from './rng.js';
import { type Customer, type BuildContext, B64URL, DIGITS, wamid, numericId, bsuid } from './model.js';
import { TEXTS, TEMPLATE_NAMES, LANGUAGES } from './content.js';

/** A template id: 15-16 digits like Meta's, now and then one beyond 2^53 (kept exact as a bigint). */
function templateId(rng: Rng): JsonValue {
  if (rng.chance(0.125)) return BigInt(`9${rng.chars(18, DIGITS)}`);
  return Number(numericId(rng, 15 + rng.int(2)));
}

export function templateValue(kind: TriggerKind, ctx: BuildContext): { value: JsonObject; field: string; ref: string } {
  const { rng } = ctx;
  const id = templateId(rng);
  const name = rng.pick(TEMPLATE_NAMES);
  const language = rng.pick(LANGUAGES);
  const ref = String(id);
  if (kind.name === 'template-quality') {
    const [previous, next] = rng.pick([
      ['GREEN', 'YELLOW'],
      ['YELLOW', 'RED'],
      ['RED', 'YELLOW'],
      ['UNKNOWN', 'GREEN'],
    ] as const);
    return {
      field: 'message_template_quality_update',
      ref,
      value: { previous_quality_score: previous, new_quality_score: next, message_template_id: id, message_template_name: name, message_template_language: language },
    };
  }
  if (kind.name === 'template-category') {
    const [previous, next] = rng.pick([
      ['UTILITY', 'MARKETING'],
      ['MARKETING', 'UTILITY'],
      ['AUTHENTICATION', 'UTILITY'],
    ] as const);
    return {
      field: 'template_category_update',
      ref,
      value: { message_template_id: id, message_template_name: name, message_template_language: language, previous_category: previous, new_category: next },
    };
  }
  const event = kind.detail!;
  const value: JsonObject = {
    event,
    message_template_id: id,
    message_template_name: name,
    message_template_language: language,
    reason: event === 'REJECTED' ? rng.pick(['INVALID_FORMAT', 'PROMOTIONAL', 'TAG_CONTENT_MISMATCH']) : event === 'APPROVED' ? 'NONE' : null,
    message_template_category: rng.pick(['UTILITY', 'MARKETING']),
  };
  if (event === 'REJECTED') value.rejection_info = { reason: value.reason as string, recommendation: 'Remove the duplicate variable in the body.' };
  if (event === 'PAUSED') value.other_info = { title: 'FIRST_PAUSE', description: 'Your template has been paused for 3 hours because of low quality.' };
  if (event === 'DISABLED') value.other_info = { title: 'DISABLED', description: 'Your template has been disabled because of continued low quality.' };
  return { field: 'message_template_status_update', ref, value };
}

/** EnableX posts template notifications as `statuses[]` items with its own key names. */
export function enablexTemplateItem(kind: TriggerKind, meta: JsonObject, at: number): JsonObject {
  const item: JsonObject = {
    template_name: meta.message_template_name as string,
    template_id: meta.message_template_id as JsonValue,
    template_language: meta.message_template_language as string,
  };
  if (kind.event === 'template.status') {
    item.status = meta.event as string;
    item.reason = meta.reason as JsonValue;
  } else if (kind.event === 'template.quality') {
    item.previous_quality_score = meta.previous_quality_score as string;
    item.new_quality_score = meta.new_quality_score as string;
  } else {
    item.previous_category = meta.previous_category as string;
    item.new_category = meta.new_category as string;
  }
  item.timestamp = String(at);
  return item;
}

/** A notification of a field bluetick does not model; each carries an id of its own. */
export function otherField(ctx: BuildContext, at: number): { field: string; value: JsonObject; ref: string } {
  const { rng } = ctx;
  const id = numericId(rng, 16);
  return {
    field: rng.pick(['automatic_events', 'partner_solutions', 'payment_configuration_update']),
    ref: id,
    value: { id, event: 'SAMPLE', timestamp: at },
  };
}

/**
 * The change value of one of Meta's other webhook fields (contract v2 types), shaped as
 * the field's reference page describes it. `ref` is the id a user would look for.
 */
export function fieldValue(kind: TriggerKind, ctx: BuildContext, customer: Customer, at: number): { value: JsonObject; ref: string } {
  const { rng, account } = ctx;
  const metadata = { display_phone_number: account.displayPhoneNumber, phone_number_id: account.phoneNumberId };
  const contact = { profile: { name: customer.name }, wa_id: customer.waId };
  const ts = String(at);
  switch (kind.name) {
    case 'echo': {
      const id = wamid(rng, customer.waId, false);
      const echo = { from: account.displayPhoneNumber, to: customer.waId, id, timestamp: ts, type: 'text', text: { body: rng.pick(TEXTS) } };
      return { ref: id, value: { messaging_product: 'whatsapp', metadata, message_echoes: [echo] } };
    }
    case 'standby': {
      const id = wamid(rng, customer.waId, true);
      const message = { from: customer.waId, id, timestamp: ts, type: 'text', text: { body: rng.pick(TEXTS) } };
      return { ref: id, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], messages: [message] } };
    }
    case 'handover':
      return {
        ref: customer.waId,
        value: { messaging_product: 'whatsapp', metadata, type: 'control_passed', from: customer.waId, timestamp: ts, control_passed: { metadata: 'handover from the bot' } },
      };
    case 'history': {
      const id = wamid(rng, customer.waId, true);
      const thread = { id: customer.waId, messages: [{ from: customer.waId, id, timestamp: ts, type: 'text', text: { body: rng.pick(TEXTS) }, history_context: { status: 'READ' } }] };
      return { ref: customer.waId, value: { messaging_product: 'whatsapp', metadata, history: [{ metadata: { phase: 0, chunk_order: 1, progress: 100 }, threads: [thread] }] } };
    }
    case 'contact-sync': {
      const [first = customer.name] = customer.name.split(' ');
      const item = { type: 'contact', contact: { full_name: customer.name, first_name: first, phone_number: customer.waId }, action: 'add', metadata: { timestamp: ts } };
      return { ref: customer.waId, value: { messaging_product: 'whatsapp', metadata, state_sync: [item] } };
    }
    case 'marketing-stop':
    case 'marketing-resume': {
      const value = kind.detail!;
      const item = { wa_id: customer.waId, detail: `User requested to ${value} marketing messages`, category: 'marketing_messages', value, timestamp: at };
      return { ref: customer.waId, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], user_preferences: [item] } };
    }
    case 'user-id-change': {
      const current = bsuid(rng);
      const item = { wa_id: customer.waId, detail: 'User changed business-scoped user id', user_id: { previous: bsuid(rng), current }, timestamp: ts };
      return { ref: current, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], user_id_update: [item] } };
    }
    case 'template-components': {
      const id = numericId(rng, 16);
      return {
        ref: id,
        value: {
          message_template_id: Number(id),
          message_template_name: rng.pick(TEMPLATE_NAMES),
          message_template_language: rng.pick(LANGUAGES),
          message_template_element: 'Your order {{1}} is on its way.',
        },
      };
    }
    case 'account-update':
      return {
        ref: account.wabaId,
        value: { phone_number: account.displayPhoneNumber, event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'ADULT' } },
      };
    case 'account-alert': {
      const alertId = numericId(rng, 15);
      return {
        ref: alertId,
        value: {
          entity_type: 'PHONE_NUMBER',
          entity_id: account.phoneNumberId,
          alert_info: { alert_severity: 'INFORMATIONAL', alert_status: 'ACTIVE', alert_type: 'OBA_APPROVED', alert_id: alertId, alert_description: 'Official business account approved' },
        },
      };
    }
    case 'account-review':
      return { ref: account.wabaId, value: { decision: rng.pick(['APPROVED', 'REJECTED', 'PENDING']) } };
    case 'account-capability':
      return {
        ref: account.wabaId,
        value: { max_daily_conversation_per_phone: 2000, max_daily_conversations_per_business: 2000, max_phone_numbers_per_business: 20, max_phone_numbers_per_waba: 25 },
      };
    case 'account-security':
      return { ref: account.displayPhoneNumber, value: { display_phone_number: account.displayPhoneNumber, event: 'PIN_CHANGED', requester: numericId(rng, 16) } };
    case 'account-error':
      return {
        ref: account.phoneNumberId,
        value: { messaging_product: 'whatsapp', metadata, errors: [{ code: 130429, title: 'Rate limit hit', message: 'Rate limit hit', error_data: { details: 'Cloud API message throughput has been reached.' } }] },
      };
    case 'phone-quality':
      return {
        ref: account.displayPhoneNumber,
        value: { display_phone_number: account.displayPhoneNumber, event: 'UPGRADE', old_limit: 'TIER_1K', current_limit: 'TIER_10K', max_daily_conversations_per_business: 10000 },
      };
    case 'phone-name':
      return { ref: account.displayPhoneNumber, value: { display_phone_number: account.displayPhoneNumber, decision: 'APPROVED', requested_verified_name: 'Lucky Shrub' } };
    case 'flow-status': {
      const flowId = numericId(rng, 16);
      return {
        ref: flowId,
        value: { event: 'FLOW_STATUS_CHANGE', message: 'Flow Customer survey changed status from DRAFT to PUBLISHED', flow_id: flowId, old_status: 'DRAFT', new_status: 'PUBLISHED' },
      };
    }
    case 'call': {
      const id = `wacid.${rng.chars(40, B64URL)}`;
      const call = { id, to: account.displayPhoneNumber, from: customer.waId, event: 'connect', timestamp: ts, direction: 'USER_INITIATED', session: { sdp_type: 'offer', sdp: 'v=0' } };
      return { ref: id, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], calls: [call] } };
    }
    case 'group': {
      const groupId = `1203630${rng.chars(11, DIGITS)}@g.us`;
      const group = { timestamp: ts, group_id: groupId, type: 'group_create', request_id: rng.chars(32, '0123456789abcdef'), subject: 'Launch crew' };
      return { ref: groupId, value: { messaging_product: 'whatsapp', metadata, groups: [group] } };
    }
    default:
      throw new RangeError(`not a field kind: ${kind.name}`);
  }
}
