/**
 * @module events/time
 *
 * Provider timestamps -> ISO-8601 UTC with milliseconds (`2024-01-01T00:00:00.000Z`).
 *
 * WhatsApp sends unix seconds, as a string per Meta and as a number from some relays.
 * A value that is not a plain non-negative number of seconds, or that lands beyond
 * year 9999 (where ISO-8601 needs an expanded year), is treated as absent: the
 * caller omits `occurredAt` rather than invent a time.
 */
import type { JsonValue } from './types.js';

/** 9999-12-31T23:59:59.999Z in epoch milliseconds. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999;
const SECONDS_TEXT = /^\d{1,15}(?:\.\d{1,9})?$/;

const MS_PER_DAY = 86_400_000;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * Epoch milliseconds -> ISO string, or `undefined` when out of range or not a number.
 *
 * Formats by arithmetic (days -> civil date, the proleptic Gregorian calendar, as
 * `Date` uses) instead of `new Date(ms).toISOString()`, which was the largest single
 * cost of normalizing a small body. A unit test holds it equal to `toISOString()`.
 */
export function isoFromEpochMs(ms: number): string | undefined {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > LAST_FOUR_DIGIT_YEAR_MS) return undefined;
  const whole = Math.floor(ms);
  const days = Math.floor(whole / MS_PER_DAY);
  let rest = whole - days * MS_PER_DAY;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;

  // Civil date from days since 1970-01-01, in 400-year eras starting on 0000-03-01.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);

  const yyyy = year < 10 ? `000${year}` : year < 100 ? `00${year}` : year < 1000 ? `0${year}` : `${year}`;
  const mmm = millis < 10 ? `00${millis}` : millis < 100 ? `0${millis}` : `${millis}`;
  return `${yyyy}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${mmm}Z`;
}

/** Unix seconds (string or number) -> ISO string, or `undefined` when absent or invalid. */
export function isoFromUnixSeconds(value: JsonValue | undefined): string | undefined {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && SECONDS_TEXT.test(value)) seconds = Number(value);
  else return undefined;
  return isoFromEpochMs(Math.round(seconds * 1000));
}
