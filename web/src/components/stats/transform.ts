// Pure data work of the Stats page: the ranges it offers, the series turned into the arrays uPlot
// draws (every bucket present, a gap where no job ran), unit conversions and the sentences that
// describe the charts to screen readers. No React, no DOM: tested in transform.test.ts.
import type { StatsBucket, StatsPoint, StatsReport } from './types';

export type RangeKey = '24h' | '7d' | '30d' | '90d';

export interface RangeOption {
  key: RangeKey;
  label: string;
  bucket: StatsBucket;
  /** How many buckets the range covers, the one in progress included. */
  buckets: number;
}

export const RANGES: readonly RangeOption[] = [
  { key: '24h', label: 'Last 24 hours', bucket: 'hour', buckets: 24 },
  { key: '7d', label: 'Last 7 days', bucket: 'day', buckets: 7 },
  { key: '30d', label: 'Last 30 days', bucket: 'day', buckets: 30 },
  { key: '90d', label: 'Last 90 days', bucket: 'day', buckets: 90 },
];

export const DEFAULT_RANGE: RangeKey = '7d';

export function rangeOption(key: string | null | undefined): RangeOption {
  return RANGES.find((r) => r.key === key) ?? (RANGES.find((r) => r.key === DEFAULT_RANGE) as RangeOption);
}

export function isRangeKey(key: string | null | undefined): key is RangeKey {
  return RANGES.some((r) => r.key === key);
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function bucketMs(bucket: StatsBucket): number {
  return bucket === 'hour' ? HOUR_MS : DAY_MS;
}

/** The start of the UTC hour or day holding `ms`, as the server aligns its buckets. */
export function bucketStartMs(ms: number, bucket: StatsBucket): number {
  const size = bucketMs(bucket);
  return Math.floor(ms / size) * size;
}

/**
 * The query for a range ending now. `from` is aligned to a bucket start, so that the chart holds
 * exactly `buckets` whole buckets (the last one still in progress) instead of a partial first one.
 */
export function rangeQuery(key: RangeKey, nowMs: number): { from: string; to: string; bucket: StatsBucket } {
  const r = rangeOption(key);
  const size = bucketMs(r.bucket);
  const from = bucketStartMs(nowMs, r.bucket) - (r.buckets - 1) * size;
  return { from: new Date(from).toISOString(), to: new Date(nowMs).toISOString(), bucket: r.bucket };
}

export function msToSeconds(ms: number): number {
  return ms / 1000;
}

/** Whether any job of the bucket ran: jobs cancelled before they started have no duration or rate. */
export function bucketRan(p: StatsPoint): boolean {
  return p.jobs > 0 && !(p.cancelled === p.jobs && p.maxDurationMs <= 0);
}

/** A bucket without jobs. */
export function emptyPoint(startMs: number): StatsPoint {
  return {
    start: new Date(startMs).toISOString(),
    jobs: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    items: 0,
    itemsPerSecond: 0,
    avgDurationMs: 0,
    maxDurationMs: 0,
  };
}

/** Guards the loop below against a nonsensical range; the server refuses more than 1000 buckets. */
const MAX_BUCKETS = 1000;

/**
 * Every bucket of the range in time order: the server's points, and an empty one for any bucket
 * it left out (it sends them all today; a sparse answer must not squeeze the time axis).
 */
export function fillBuckets(report: Pick<StatsReport, 'range' | 'series'>): StatsPoint[] {
  const { bucket } = report.range;
  const size = bucketMs(bucket);
  const byStart = new Map<number, StatsPoint>();
  for (const p of report.series) {
    const t = Date.parse(p.start);
    if (Number.isFinite(t)) byStart.set(t, p);
  }
  const from = Date.parse(report.range.from);
  const to = Date.parse(report.range.to);
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) {
    const first = bucketStartMs(from, bucket);
    const last = bucketStartMs(to - 1, bucket);
    for (let t = first, n = 0; t <= last && n < MAX_BUCKETS; t += size, n++) {
      if (!byStart.has(t)) byStart.set(t, emptyPoint(t));
    }
  }
  return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

export interface ChartData {
  points: StatsPoint[];
  /** Bucket starts in Unix seconds (uPlot's time scale). */
  x: number[];
  /** null where no job ran: a gap in the line, not a misleading zero. */
  itemsPerSecond: (number | null)[];
  avgDurationSec: (number | null)[];
  maxDurationSec: (number | null)[];
  /** How many buckets had a job that ran. */
  bucketsWithJobs: number;
}

export function toChartData(report: Pick<StatsReport, 'range' | 'series'>): ChartData {
  const points = fillBuckets(report);
  const x: number[] = [];
  const itemsPerSecond: (number | null)[] = [];
  const avgDurationSec: (number | null)[] = [];
  const maxDurationSec: (number | null)[] = [];
  let bucketsWithJobs = 0;
  for (const p of points) {
    const ran = bucketRan(p);
    if (ran) bucketsWithJobs++;
    x.push(Math.floor(Date.parse(p.start) / 1000));
    itemsPerSecond.push(ran ? p.itemsPerSecond : null);
    avgDurationSec.push(ran ? msToSeconds(p.avgDurationMs) : null);
    maxDurationSec.push(ran ? msToSeconds(p.maxDurationMs) : null);
  }
  return { points, x, itemsPerSecond, avgDurationSec, maxDurationSec, bucketsWithJobs };
}

// ---- Formatting -------------------------------------------------------------------------------

const LOCALE = 'en-GB';
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(n);
}

/** A rate 0…1 as a percentage with one decimal; never rounds a partial success up to 100 % or down to 0 %. */
export function formatPercent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  let pct = Math.round(rate * 1000) / 10;
  if (rate < 1 && pct >= 100) pct = 99.9;
  if (rate > 0 && pct <= 0) pct = 0.1;
  return `${pct.toFixed(pct === 100 || pct === 0 ? 0 : 1)} %`;
}

/** Items per second: one decimal below 100, whole numbers above. */
export function formatRate(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v < 100 ? v.toFixed(1) : integer.format(Math.round(v));
}

/** A duration in seconds, for people: "0.4 s", "42 s", "3 min 5 s", "2 h 10 min". */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 10) return `${(Math.round(s * 10) / 10).toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const total = Math.round(s);
  if (total < 3600) {
    const m = Math.floor(total / 60);
    const rest = total % 60;
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

/**
 * A bucket's start for people. Hours are shown in the reader's time zone; days are UTC days, so
 * they are shown as UTC dates (a local rendering would put them on the day before, west of UTC).
 */
export function formatBucket(iso: string, bucket: StatsBucket, hourTimeZone?: string): string {
  const d = new Date(iso);
  if (bucket === 'day') {
    return d.toLocaleDateString(LOCALE, { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
  }
  return d.toLocaleString(LOCALE, {
    timeZone: hourTimeZone,
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

/**
 * A time-axis tick: days as "20 Nov" (UTC); hours as "13:00" in the reader's time zone, and as the
 * date at local midnight, so that the axis says which day the hours belong to.
 */
export function formatTick(ts: number, bucket: StatsBucket, hourTimeZone?: string): string {
  const d = new Date(ts * 1000);
  if (bucket === 'day') return d.toLocaleDateString(LOCALE, { timeZone: 'UTC', day: 'numeric', month: 'short' });
  const time = d.toLocaleTimeString(LOCALE, { timeZone: hourTimeZone, hour: '2-digit', minute: '2-digit', hour12: false });
  return time === '00:00' ? d.toLocaleDateString(LOCALE, { timeZone: hourTimeZone, day: 'numeric', month: 'short' }) : time;
}

export function bucketNoun(bucket: StatsBucket, n: number): string {
  if (bucket === 'hour') return n === 1 ? 'hour' : 'hours';
  return n === 1 ? 'day' : 'days';
}

interface Extreme {
  value: number;
  index: number;
}

function maxOf(values: (number | null)[]): Extreme | null {
  let best: Extreme | null = null;
  values.forEach((v, index) => {
    if (v !== null && (best === null || v > best.value)) best = { value: v, index };
  });
  return best;
}

function meanOf(values: (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function span(data: ChartData, bucket: StatsBucket, tz?: string): string {
  const first = data.points[0];
  const last = data.points[data.points.length - 1];
  if (!first || !last) return '';
  return `${formatBucket(first.start, bucket, tz)} to ${formatBucket(last.start, bucket, tz)}`;
}

/** The accessible name of the items-per-second chart: what a sighted reader takes from it. */
export function describeItemsPerSecond(data: ChartData, bucket: StatsBucket, tz?: string): string {
  const n = data.points.length;
  const head = `Items per second over ${n} ${bucketNoun(bucket, n)}, ${span(data, bucket, tz)}.`;
  const peak = maxOf(data.itemsPerSecond);
  if (!peak) return `${head} No sync job ran in this range.`;
  const at = data.points[peak.index];
  const mean = meanOf(data.itemsPerSecond);
  return (
    `${head} ${data.bucketsWithJobs} of ${n} ${bucketNoun(bucket, n)} had sync jobs. ` +
    `Highest ${formatRate(peak.value)} items per second${at ? ` (${formatBucket(at.start, bucket, tz)})` : ''}; ` +
    `mean over those ${bucketNoun(bucket, 2)} ${formatRate(mean)}.`
  );
}

/** The accessible name of the job-duration chart. */
export function describeDurations(data: ChartData, bucket: StatsBucket, tz?: string): string {
  const n = data.points.length;
  const head = `Job duration over ${n} ${bucketNoun(bucket, n)}, ${span(data, bucket, tz)}.`;
  const longest = maxOf(data.maxDurationSec);
  if (!longest) return `${head} No sync job ran in this range.`;
  const at = data.points[longest.index];
  return (
    `${head} ${data.bucketsWithJobs} of ${n} ${bucketNoun(bucket, n)} had sync jobs. ` +
    `Highest ${bucket === 'hour' ? 'hourly' : 'daily'} average ${formatSeconds(maxOf(data.avgDurationSec)?.value)}; ` +
    `the longest job took ${formatSeconds(longest.value)}${at ? ` (${formatBucket(at.start, bucket, tz)})` : ''}.`
  );
}
