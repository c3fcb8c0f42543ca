/**
 * @module trigger/kinds
 *
 * The catalog of notification kinds `bluetick trigger` can send: one per thing a provider
 * posts, each with the event type (and `kind` / `status`) it must become once normalized.
 * The catalog is data; `build.ts` turns a kind into a payload item.
 */
import type { EventType } from '../events/types.js';

/** Where an item sits in a body. */
export type KindFamily = 'message' | 'reaction' | 'status' | 'template' | 'field';

export interface TriggerKind {
  /** The name on the command line, e.g. `interactive-button`. */
  readonly name: string;
  readonly family: KindFamily;
  /** The event type this notification normalizes to. */
  readonly event: EventType;
  /** `message.received`: its `kind`; statuses and templates: its `status`; reactions: the emoji, `""` when removed. */
  readonly detail?: string;
  readonly description: string;
  /** `field` kinds: the Meta change field the notification comes in. */
  readonly field?: string;
  /** The body shapes that can carry this kind; absent: both. Meta's other webhook fields have no EnableX form. */
  readonly shapes?: readonly TriggerShape[];
}

/** The two body shapes a provider posts. */
export const TRIGGER_SHAPES = ['meta', 'enablex'] as const;
export type TriggerShape = (typeof TRIGGER_SHAPES)[number];

const message = (name: string, detail: string, description: string): TriggerKind => ({
  name,
  family: 'message',
  event: 'message.received',
  detail,
  description,
});
const status = (value: string, description: string): TriggerKind => ({
  name: `status-${value}`,
  family: 'status',
  event: 'message.status',
  detail: value,
  description,
});
const template = (value: string, description: string): TriggerKind => ({
  name: `template-${value.toLowerCase()}`,
  family: 'template',
  event: 'template.status',
  detail: value,
  description,
});

const field = (name: string, event: EventType, metaField: string, description: string, detail?: string): TriggerKind => ({
  name,
  family: 'field',
  event,
  field: metaField,
  description,
  shapes: ['meta'],
  ...(detail !== undefined ? { detail } : {}),
});

/** Every kind, in the order `--list` prints them. */
export const TRIGGER_KINDS: readonly TriggerKind[] = [
  message('text', 'text', 'a customer writes a text message'),
  message('image', 'image', 'a photo with a caption'),
  message('video', 'video', 'a video clip'),
  message('audio', 'audio', 'a voice note'),
  message('document', 'document', 'a PDF with a file name'),
  message('sticker', 'sticker', 'a WebP sticker'),
  message('location', 'location', 'a shared location with name and address'),
  message('contacts', 'contacts', 'a shared contact card'),
  message('interactive-button', 'interactive', 'a tap on a reply button (interactive button_reply)'),
  message('interactive-list', 'interactive', 'a choice from a list message (interactive list_reply)'),
  message('interactive-flow', 'interactive', 'a completed WhatsApp Flow (interactive nfm_reply)'),
  message('button', 'button', 'a tap on a template quick-reply button'),
  message('order', 'order', 'a cart sent from the catalog'),
  message('system', 'system', 'the customer changed their number'),
  { ...message('user-id-system', 'system', "the customer's business-scoped user id changed (system user_changed_user_id)"), shapes: ['meta'] },
  message('ad-referral', 'text', 'a customer writes from a click-to-WhatsApp ad (referral with ctwa_clid)'),
  message('request-welcome', 'request_welcome', 'a customer opens the chat for the first time'),
  message('unsupported', 'unsupported', 'a message type WhatsApp does not deliver (e.g. a poll)'),
  { name: 'reaction', family: 'reaction', event: 'message.reaction', description: 'the customer reacts to a business message with an emoji' },
  { name: 'unreaction', family: 'reaction', event: 'message.reaction', detail: '', description: 'the customer removes their reaction' },
  status('sent', 'a business message left WhatsApp (with conversation and pricing)'),
  status('delivered', 'a business message reached the phone'),
  status('read', 'the customer read a business message'),
  status('failed', 'a business message could not be delivered (with an error code)'),
  status('played', 'the customer played a voice message'),
  template('APPROVED', 'a message template was approved'),
  template('REJECTED', 'a message template was rejected (with the reason)'),
  template('PAUSED', 'a message template was paused for low quality'),
  template('DISABLED', 'a message template was disabled'),
  { name: 'template-quality', family: 'template', event: 'template.quality', description: "a template's quality score changed" },
  { name: 'template-category', family: 'template', event: 'template.category', description: "a template's category changed" },
  field('echo', 'message.echo', 'smb_message_echoes', 'the business answered from the WhatsApp Business app (coexistence echo)'),
  field('standby', 'message.standby', 'standby', 'a customer message copied to this app while another app owns the thread'),
  field('handover', 'conversation.handover', 'messaging_handovers', 'thread ownership was passed to this app'),
  field('history', 'history.sync', 'history', 'one thread of the Business app chat history'),
  field('contact-sync', 'contact.sync', 'smb_app_state_sync', 'a contact added in the WhatsApp Business app'),
  field('marketing-stop', 'user.preferences', 'user_preferences', 'a customer stopped marketing messages', 'stop'),
  field('marketing-resume', 'user.preferences', 'user_preferences', 'a customer resumed marketing messages', 'resume'),
  field('user-id-change', 'user.identity', 'user_id_update', "a customer's business-scoped user id changed"),
  field('template-components', 'template.components', 'message_template_components_update', "a template's components were edited"),
  field('account-update', 'account.update', 'account_update', 'the business account changed (here: a policy violation)'),
  field('account-alert', 'account.alert', 'account_alerts', 'an alert on the business account or number'),
  field('account-review', 'account.review', 'account_review_update', 'the business account was reviewed'),
  field('account-capability', 'account.capability', 'business_capability_update', "the business's messaging limits changed"),
  field('account-security', 'account.security', 'security', "the number's two-step verification PIN changed"),
  field('account-error', 'account.error', 'messages', 'an error about the account, attached to no message (rate limit)'),
  field('phone-quality', 'phone.quality', 'phone_number_quality_update', "the number's messaging limit was raised"),
  field('phone-name', 'phone.name', 'phone_number_name_update', "the number's display name was approved"),
  field('flow-status', 'flow.status', 'flows', 'a WhatsApp Flow was published'),
  field('call', 'call.status', 'calls', 'a customer called the business number'),
  field('group', 'group.update', 'group_lifecycle_update', 'a group was created'),
  { name: 'unknown-field', family: 'field', event: 'unknown', description: 'a notification of a field bluetick does not model (kept as `unknown`)' },
];

/** Whether a body of `shape` can carry `kind`. */
export function kindSupports(kind: TriggerKind, shape: TriggerShape): boolean {
  return kind.shapes === undefined || kind.shapes.includes(shape);
}

const BY_NAME = new Map(TRIGGER_KINDS.map((k) => [k.name, k]));

/**
 * The kind for a name as a user may type it: case and `_` / `.` / `-` do not matter
 * (`request_welcome`, `status.read` and `Template-Approved` all work).
 */
export function findKind(name: string): TriggerKind | undefined {
  return BY_NAME.get(name.trim().toLowerCase().replace(/[_.\s]+/g, '-'));
}
