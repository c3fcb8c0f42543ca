/**
 * Short titles for WhatsApp error codes seen in failed statuses, used when a status item
 * carries a code without its own title. The item's own `title` / `message` always wins.
 */
const TITLES: Readonly<Record<number, string>> = {
  0: 'Authentication exception',
  3: 'Capability or permission issue',
  10: 'Permission denied',
  190: 'Access token expired',
  368: 'Temporarily blocked for policy violations',
  470: 'Message failed: more than 24 hours since the customer last replied',
  130429: 'Rate limit hit',
  130472: "User's number is part of an experiment",
  130497: 'Business account is restricted from messaging users in this country',
  131000: 'Something went wrong',
  131005: 'Access denied',
  131008: 'Required parameter is missing',
  131009: 'Parameter value is not valid',
  131016: 'Service unavailable',
  131021: 'Recipient cannot be sender',
  131026: 'Message undeliverable',
  131031: 'Business account locked',
  131042: 'Business eligibility payment issue',
  131045: 'Incorrect certificate',
  131047: 'Re-engagement message: more than 24 hours since the customer last replied',
  131048: 'Spam rate limit hit',
  131049: 'Not delivered to maintain healthy ecosystem engagement',
  131050: 'User stopped marketing messages',
  131051: 'Unsupported message type',
  131052: 'Media download error',
  131053: 'Media upload error',
  131056: 'Pair rate limit hit (too many messages to this user)',
  131057: 'Account in maintenance mode',
  132000: 'Template parameter count mismatch',
  132001: 'Template does not exist',
  132005: 'Template hydrated text too long',
  132007: 'Template format character policy violated',
  132012: 'Template parameter format mismatch',
  132015: 'Template is paused',
  132016: 'Template is disabled',
  132068: 'Flow is blocked',
  132069: 'Flow is throttled',
  133000: 'Incomplete deregistration',
  133010: 'Phone number not registered',
};

export function errorTitle(code: number): string | undefined {
  return TITLES[code];
}

export interface ItemError {
  code?: number;
  title?: string;
  message?: string;
  details?: string;
}

/** The `errors[]` of a status item as sent (Meta and EnableX use the same shape). */
export function errorsOfItem(data: unknown): ItemError[] {
  if (data === null || typeof data !== 'object') return [];
  const errors = (data as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object')
    .map((e) => {
      const out: ItemError = {};
      const code = typeof e.code === 'number' ? e.code : typeof e.code === 'string' ? Number(e.code) : NaN;
      if (Number.isFinite(code)) out.code = code;
      if (typeof e.title === 'string') out.title = e.title;
      if (typeof e.message === 'string') out.message = e.message;
      const ed = e.error_data;
      if (ed && typeof ed === 'object' && typeof (ed as { details?: unknown }).details === 'string') out.details = (ed as { details: string }).details;
      return out;
    });
}
