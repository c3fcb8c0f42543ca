import { describe, expect, it } from 'vitest';
import type { BluetickEvent, TemplateCategoryEvent, TemplateQualityEvent, TemplateStatusEvent } from '../events/types.js';
import { reduceTemplate, templateKeyOf, type TemplateRow } from './templates.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();
const TEMPLATE_ID = '1234567890123456789'; // above 2^53: kept as a string

const common = {
  provider: 'meta' as const,
  channel: 'main',
  businessAccountId: '102290129340398',
  templateId: TEMPLATE_ID,
  templateName: 'order_update',
  language: 'en_US',
  data: {},
};

function statusEvent(id: string, value: string, minute: number, extra: Partial<TemplateStatusEvent> = {}): TemplateStatusEvent {
  return { ...common, id, type: 'template.status', status: value, occurredAt: at(minute), receivedAt: at(minute), ...extra };
}

function qualityEvent(id: string, value: string, minute: number): TemplateQualityEvent {
  return { ...common, id, type: 'template.quality', status: value, occurredAt: at(minute), receivedAt: at(minute) };
}

function categoryEvent(id: string, value: string, minute: number): TemplateCategoryEvent {
  return { ...common, id, type: 'template.category', status: value, occurredAt: at(minute), receivedAt: at(minute) };
}

function reduceAll(events: BluetickEvent[]): TemplateRow {
  let row: TemplateRow | undefined;
  for (const event of events) row = reduceTemplate(row, event);
  if (!row) throw new Error('no template row');
  return row;
}

describe('template keys', () => {
  it('uses the template id when present', () => {
    expect(templateKeyOf(statusEvent('t1', 'APPROVED', 0))).toBe(TEMPLATE_ID);
  });

  it('uses name and language when the id is absent', () => {
    const event = statusEvent('t1', 'APPROVED', 0, { provider: 'enablex' });
    delete event.templateId;
    expect(templateKeyOf(event)).toBe('order_update:en_US');
    expect(reduceAll([event])).toMatchObject({ key: 'order_update:en_US', name: 'order_update', language: 'en_US', status: 'APPROVED' });
  });

  it('has no key without an id or a name', () => {
    const event = statusEvent('t1', 'APPROVED', 0);
    delete event.templateId;
    delete event.templateName;
    expect(templateKeyOf(event)).toBeUndefined();
    expect(reduceTemplate(undefined, event)).toBeUndefined();
  });
});

describe('template rows', () => {
  it('takes status and reason from the latest status event, whatever the arrival order', () => {
    const row = reduceAll([
      statusEvent('t3', 'PAUSED', 30, { reason: 'NONE' }),
      statusEvent('t1', 'PENDING', 0),
      statusEvent('t2', 'REJECTED', 10, { reason: 'INVALID_FORMAT' }),
    ]);
    expect(row.status).toBe('PAUSED');
    expect(row.reason).toBe('NONE');
    expect(row.statusAt).toBe(at(30));
    expect(row.history.map((h) => h.eventId)).toEqual(['t1', 't2', 't3']);
  });

  it('drops the reason when the latest status event carries none', () => {
    const row = reduceAll([statusEvent('t1', 'REJECTED', 0, { reason: 'PROMOTIONAL' }), statusEvent('t2', 'APPROVED', 5)]);
    expect(row.status).toBe('APPROVED');
    expect(row.reason).toBeUndefined();
  });

  it('keeps quality and category from their own latest events, apart from the status', () => {
    const row = reduceAll([
      qualityEvent('q2', 'RED', 20),
      statusEvent('t1', 'APPROVED', 0),
      categoryEvent('c1', 'MARKETING', 15),
      qualityEvent('q1', 'YELLOW', 10),
    ]);
    expect(row).toMatchObject({
      key: TEMPLATE_ID,
      templateId: TEMPLATE_ID,
      status: 'APPROVED',
      quality: 'RED',
      qualityAt: at(20),
      category: 'MARKETING',
      categoryAt: at(15),
      updatedAt: at(20),
    });
    expect(row.history.map((h) => h.type)).toEqual(['template.status', 'template.quality', 'template.category', 'template.quality']);
  });

  it('breaks a tie between status events of the same second by event id', () => {
    const a = statusEvent('a', 'PAUSED', 5);
    const b = statusEvent('b', 'APPROVED', 5);
    expect(reduceAll([a, b]).status).toBe('APPROVED');
    expect(reduceAll([b, a]).status).toBe('APPROVED');
  });

  it('returns the same row for a duplicate event id', () => {
    const row = reduceAll([statusEvent('t1', 'APPROVED', 0)]);
    expect(reduceTemplate(row, statusEvent('t1', 'APPROVED', 0))).toBe(row);
  });

  it('uses receivedAt for an event that carries no occurredAt', () => {
    const event = statusEvent('t1', 'APPROVED', 0, { receivedAt: at(7) });
    delete event.occurredAt;
    expect(reduceAll([event]).statusAt).toBe(at(7));
  });
});

describe('category from status updates', () => {
  const reduce = (events: BluetickEvent[]): TemplateRow | undefined => events.reduce<TemplateRow | undefined>(reduceTemplate, undefined);
  it('takes the category a status update names, and the latest of status updates and category changes wins, in any order', () => {
    const approved = statusEvent('s1', 'APPROVED', 10, { data: { event: 'APPROVED', message_template_category: 'UTILITY' } });
    const changed = categoryEvent('c1', 'MARKETING', 20);
    const paused = statusEvent('s2', 'PAUSED', 30, { data: { event: 'PAUSED' } });
    const orders = [
      [approved, changed, paused],
      [paused, changed, approved],
      [changed, paused, approved],
    ];
    for (const events of orders) {
      const row = reduce(events);
      // The pause names no category, so the category change at minute 20 stays current.
      expect(row).toMatchObject({ status: 'PAUSED', category: 'MARKETING', categoryAt: at(20) });
    }
    expect(reduce([approved])).toMatchObject({ status: 'APPROVED', category: 'UTILITY', categoryAt: at(10) });
    const reapproved = statusEvent('s3', 'APPROVED', 40, { data: { event: 'APPROVED', message_template_category: 'UTILITY' } });
    expect(reduce([changed, reapproved, approved])).toMatchObject({ category: 'UTILITY', categoryAt: at(40) });
  });
});
