// Display formatting shared by the pages: numbers, percents, durations, ETAs, rates, dates and
// status labels. Every function takes null/undefined (and NaN) and answers "—" for them, so that
// a half-loaded job never renders "NaN" or "undefined".

export const MISSING = '—';

type Maybe<T> = T | null | undefined;

function isNum(n: Maybe<number>): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 1234567 → "1,234,567" (en-US grouping, whole numbers; fractions are rounded). */
export function formatNumber(n: Maybe<number>): string {
  if (!isNum(n)) return MISSING;
  return integerFormat.format(n);
}

/** 42 → "42%": takes a percent (0-100), not a ratio; `digits` decimals at most. */
export function formatPercent(percent: Maybe<number>, digits = 0): string {
  if (!isNum(percent)) return MISSING;
  return `${percent.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })}%`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Whole seconds as "45 s", "2 min 05 s", "1 h 02 min", "3 d 04 h". */
function formatWholeSeconds(total: number): string {
  if (total < 60) return `${total} s`;
  if (total < 3600) {
    const m = Math.floor(total / 60);
    return `${m} min ${pad2(total % 60)} s`;
  }
  const totalMin = Math.floor(total / 60);
  if (totalMin < 24 * 60) {
    return `${Math.floor(totalMin / 60)} h ${pad2(totalMin % 60)} min`;
  }
  const totalH = Math.floor(totalMin / 60);
  return `${Math.floor(totalH / 24)} d ${pad2(totalH % 24)} h`;
}

/** A duration in milliseconds: "250 ms", "3.4 s", "42 s", "2 min 05 s", "1 h 02 min", "2 d 03 h". */
export function formatDuration(ms: Maybe<number>): string {
  if (!isNum(ms)) return MISSING;
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 10_000) {
    const tenths = Math.round(v / 100);
    if (tenths < 100) return `${(tenths / 10).toFixed(1)} s`;
  }
  return formatWholeSeconds(Math.round(v / 1000));
}

/** Time left in seconds (the server's etaSeconds): "—" when unknown, "< 1 s", "45 s", "2 min 05 s". */
export function formatEta(seconds: Maybe<number>): string {
  if (!isNum(seconds) || seconds < 0) return MISSING;
  if (seconds < 1) return '< 1 s';
  // The server caps a vanishing rate's ETA at int64 max; anything past 100 days says as much.
  if (seconds > 100 * 86_400) return '> 100 d';
  return formatWholeSeconds(Math.ceil(seconds));
}

/** Items per second: "10,234 items/s", "12.5 items/s", "0.5 items/s", "0 items/s". */
export function formatRate(itemsPerSecond: Maybe<number>): string {
  if (!isNum(itemsPerSecond) || itemsPerSecond < 0) return MISSING;
  let digits = 0;
  if (itemsPerSecond < 1) digits = 2;
  else if (itemsPerSecond < 100) digits = 1;
  const text = itemsPerSecond.toLocaleString('en-US', { maximumFractionDigits: digits });
  return `${text} items/s`;
}

export interface DateTimeOptions {
  /** An IANA zone such as "UTC" or "Europe/Paris"; the browser's own zone by default. */
  timeZone?: string;
  /** Include the seconds (default true). */
  seconds?: boolean;
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

function dateTimeFormat(timeZone: string | undefined, seconds: boolean): Intl.DateTimeFormat {
  const key = `${timeZone ?? ''}|${seconds}`;
  let f = dateTimeFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: seconds ? '2-digit' : undefined,
      hourCycle: 'h23',
    });
    dateTimeFormats.set(key, f);
  }
  return f;
}

/** An ISO timestamp in local time, compact and sortable: "2026-03-14 09:26:53". */
export function formatDateTime(iso: Maybe<string>, opts: DateTimeOptions = {}): string {
  if (!iso) return MISSING;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return MISSING;
  const seconds = opts.seconds ?? true;
  const parts: Record<string, string> = {};
  for (const p of dateTimeFormat(opts.timeZone, seconds).formatToParts(t)) parts[p.type] = p.value;
  const time = `${parts.hour}:${parts.minute}${seconds ? `:${parts.second}` : ''}`;
  return `${parts.year}-${parts.month}-${parts.day} ${time}`;
}

const STATUS_LABELS: Record<string, string> = {
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
  active: 'Active',
  disabled: 'Disabled',
};

/** A status for a badge: "running" → "Running"; an unknown "some_state" → "Some state". */
export function formatStatus(status: Maybe<string>): string {
  if (!status) return MISSING;
  const known = STATUS_LABELS[status];
  if (known) return known;
  const words = status.replace(/[_-]+/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : MISSING;
}

/**
 * A date input's value (yyyy-mm-dd, the user's local calendar day) as the ISO instant a filter
 * sends. The server's `from` is inclusive and its `to` is exclusive, so `'start'` gives the
 * day's local midnight and `'end'` the next day's local midnight: from=D1&to=D2 covers both days
 * whole. Undefined for an empty or invalid value (withQuery leaves it out).
 */
export function isoFromLocalDate(value: Maybe<string>, edge: 'start' | 'end' = 'start'): string | undefined {
  if (!value) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const date = new Date(y, mo - 1, d);
  // Refuse dates the constructor rolled over (2026-02-30 → March 2).
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return undefined;
  if (edge === 'end') date.setDate(date.getDate() + 1);
  return date.toISOString();
}

/** "1 document", "3 documents" (digits without grouping, as tests and screen readers expect). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A document's source type for people: "journal_entries" → "Journal entry". */
export const sourceTypeLabel: Record<string, string> = {
  journal_entries: 'Journal entry',
  goals: 'Goal',
};
