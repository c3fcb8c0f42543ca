/**
 * Meta Cloud API webhook bodies for tests that go through the real ingest path: each
 * builder returns the JSON text Meta would POST.
 */
export const WABA = '102290129340398';
export const PHONE_ID = '106540352242922';
export const DISPLAY_PHONE = '15550783881';

/** Epoch seconds as Meta writes them (a string). */
export function ts(ms: number): string {
  return String(Math.floor(ms / 1000));
}

/** The envelope Meta wraps every `messages`-field change in, around `value`'s own keys. */
export function envelope(value: Record<string, unknown>, phoneNumberId = PHONE_ID): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: WABA,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: DISPLAY_PHONE, phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  });
}

export interface InboundSpec {
  id: string;
  from: string;
  name?: string;
  text: string;
  at: number;
}

export function inboundBody(messages: InboundSpec[], phoneNumberId?: string): string {
  return envelope(
    {
      contacts: messages.map((m) => ({ profile: { name: m.name ?? `Name ${m.from}` }, wa_id: m.from })),
      messages: messages.map((m) => ({ from: m.from, id: m.id, timestamp: ts(m.at), type: 'text', text: { body: m.text } })),
    },
    phoneNumberId,
  );
}

export interface StatusSpec {
  id: string;
  status: string;
  to: string;
  at: number;
  errors?: number[];
}

export function statusBody(statuses: StatusSpec[], phoneNumberId?: string): string {
  return envelope(
    {
      statuses: statuses.map((s) => ({
        id: s.id,
        status: s.status,
        timestamp: ts(s.at),
        recipient_id: s.to,
        ...(s.errors ? { errors: s.errors.map((code) => ({ code, title: `error ${code}` })) } : {}),
      })),
    },
    phoneNumberId,
  );
}

export function reactionBody(r: { id: string; from: string; name?: string; target: string; emoji: string; at: number }): string {
  return envelope({
    contacts: [{ profile: { name: r.name ?? `Name ${r.from}` }, wa_id: r.from }],
    messages: [
      { from: r.from, id: r.id, timestamp: ts(r.at), type: 'reaction', reaction: { message_id: r.target, emoji: r.emoji } },
    ],
  });
}

export function numberChangeBody(c: { id: string; from: string; to: string; at: number }): string {
  return envelope({
    messages: [
      {
        from: c.from,
        id: c.id,
        timestamp: ts(c.at),
        type: 'system',
        system: { body: `changed from ${c.from} to ${c.to}`, wa_id: c.to, type: 'user_changed_number' },
      },
    ],
  });
}

/** A template review event; `templateId` is written as a bare JSON number (it may exceed 2^53). */
export function templateStatusBody(t: { templateId: string; name: string; language: string; event: string; reason?: string; at: number }): string {
  const value = {
    event: t.event,
    message_template_id: 0,
    message_template_name: t.name,
    message_template_language: t.language,
    reason: t.reason ?? 'NONE',
  };
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: WABA, time: Math.floor(t.at / 1000), changes: [{ field: 'message_template_status_update', value }] }],
  }).replace('"message_template_id":0', `"message_template_id":${t.templateId}`);
}

export function templateQualityBody(t: { templateId: string; name: string; language: string; previous: string; score: string; at: number }): string {
  const value = {
    previous_quality_score: t.previous,
    new_quality_score: t.score,
    message_template_id: 0,
    message_template_name: t.name,
    message_template_language: t.language,
  };
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: WABA, time: Math.floor(t.at / 1000), changes: [{ field: 'message_template_quality_update', value }] }],
  }).replace('"message_template_id":0', `"message_template_id":${t.templateId}`);
}
