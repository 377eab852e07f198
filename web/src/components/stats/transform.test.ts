import { describe, expect, it } from 'vitest';
import {
  bucketRan,
  bucketStartMs,
  describeDurations,
  describeItemsPerSecond,
  emptyPoint,
  fillBuckets,
  formatBucket,
  formatPercent,
  formatRate,
  formatSeconds,
  formatTick,
  msToSeconds,
  rangeOption,
  rangeQuery,
  toChartData,
} from './transform';
import type { StatsPoint } from './types';

function point(start: string, over: Partial<StatsPoint> = {}): StatsPoint {
  return { ...emptyPoint(0), start, ...over };
}

const ran = (start: string, ips: number, avg: number, max: number): StatsPoint =>
  point(start, { jobs: 2, completed: 2, items: 100, itemsPerSecond: ips, avgDurationMs: avg, maxDurationMs: max });

describe('rangeQuery', () => {
  const now = Date.parse('2026-11-26T12:37:06.500Z');

  it('asks for 24 whole UTC hours, the current one included, by hour', () => {
    expect(rangeQuery('24h', now)).toEqual({
      from: '2026-11-25T13:00:00.000Z',
      to: '2026-11-26T12:37:06.500Z',
      bucket: 'hour',
    });
  });

  it('asks for whole UTC days by day', () => {
    expect(rangeQuery('7d', now)).toEqual({ from: '2026-11-20T00:00:00.000Z', to: '2026-11-26T12:37:06.500Z', bucket: 'day' });
    expect(rangeQuery('30d', now).from).toBe('2026-10-28T00:00:00.000Z');
    expect(rangeQuery('90d', now).from).toBe('2026-08-29T00:00:00.000Z');
  });

  it('falls back to the default range for an unknown key', () => {
    expect(rangeOption('nope').key).toBe('7d');
    expect(rangeOption('30d').label).toBe('Last 30 days');
  });
});

describe('bucketStartMs', () => {
  it('floors to the UTC hour and day, before 1970 too', () => {
    expect(bucketStartMs(Date.parse('2026-11-26T12:37:06Z'), 'hour')).toBe(Date.parse('2026-11-26T12:00:00Z'));
    expect(bucketStartMs(Date.parse('2026-11-26T12:37:06Z'), 'day')).toBe(Date.parse('2026-11-26T00:00:00Z'));
    expect(bucketStartMs(Date.parse('1969-12-31T23:30:00Z'), 'hour')).toBe(Date.parse('1969-12-31T23:00:00Z'));
  });
});

describe('fillBuckets', () => {
  const range = { from: '2026-11-26T09:00:00Z', to: '2026-11-26T12:10:00Z', bucket: 'hour' as const };

  it('keeps a dense series as it is', () => {
    const series = ['09', '10', '11', '12'].map((h) => point(`2026-11-26T${h}:00:00Z`));
    expect(fillBuckets({ range, series })).toEqual(series);
  });

  it('adds the buckets a sparse series leaves out, in time order', () => {
    const at11 = ran('2026-11-26T11:00:00Z', 50, 2000, 3000);
    const out = fillBuckets({ range, series: [at11] });
    expect(out.map((p) => p.start)).toEqual([
      '2026-11-26T09:00:00.000Z',
      '2026-11-26T10:00:00.000Z',
      '2026-11-26T11:00:00Z',
      '2026-11-26T12:00:00.000Z',
    ]);
    expect(out[2]).toBe(at11);
    expect(out[0]).toMatchObject({ jobs: 0, itemsPerSecond: 0 });
  });

  it('sorts a series that arrives out of order', () => {
    const out = fillBuckets({
      range,
      series: [point('2026-11-26T12:00:00Z'), point('2026-11-26T09:00:00Z'), point('2026-11-26T11:00:00Z'), point('2026-11-26T10:00:00Z')],
    });
    expect(out.map((p) => p.start.slice(11, 13))).toEqual(['09', '10', '11', '12']);
  });

  it('covers the bucket holding `to - 1`, not the one starting at `to`', () => {
    const out = fillBuckets({ range: { from: '2026-11-20T00:00:00Z', to: '2026-11-22T00:00:00Z', bucket: 'day' }, series: [] });
    expect(out.map((p) => p.start)).toEqual(['2026-11-20T00:00:00.000Z', '2026-11-21T00:00:00.000Z']);
  });
});

describe('toChartData', () => {
  it('gives uPlot seconds on x, items/s and durations in seconds, and gaps for empty buckets', () => {
    const data = toChartData({
      range: { from: '2026-11-26T09:00:00Z', to: '2026-11-26T12:00:00Z', bucket: 'hour' },
      series: [
        point('2026-11-26T09:00:00Z'),
        ran('2026-11-26T10:00:00Z', 125.5, 1500, 2500),
        ran('2026-11-26T11:00:00Z', 0, 40, 80),
      ],
    });
    expect(data.x).toEqual([1795683600, 1795687200, 1795690800]);
    expect(data.itemsPerSecond).toEqual([null, 125.5, 0]);
    expect(data.avgDurationSec).toEqual([null, 1.5, 0.04]);
    expect(data.maxDurationSec).toEqual([null, 2.5, 0.08]);
    expect(data.bucketsWithJobs).toBe(2);
    // uPlot wants every series as long as x.
    expect(new Set([data.x.length, data.itemsPerSecond.length, data.avgDurationSec.length]).size).toBe(1);
  });

  it('treats a bucket of jobs all cancelled before they started as empty', () => {
    const queuedCancel = point('2026-11-26T09:00:00Z', { jobs: 1, cancelled: 1 });
    const ranCancel = point('2026-11-26T10:00:00Z', { jobs: 1, cancelled: 1, maxDurationMs: 900, avgDurationMs: 900, items: 3, itemsPerSecond: 3.3 });
    expect(bucketRan(queuedCancel)).toBe(false);
    expect(bucketRan(ranCancel)).toBe(true);
    const data = toChartData({
      range: { from: '2026-11-26T09:00:00Z', to: '2026-11-26T11:00:00Z', bucket: 'hour' },
      series: [queuedCancel, ranCancel],
    });
    expect(data.itemsPerSecond).toEqual([null, 3.3]);
    expect(data.maxDurationSec).toEqual([null, 0.9]);
  });
});

describe('units and formats', () => {
  it('converts milliseconds to seconds', () => {
    expect(msToSeconds(1500)).toBe(1.5);
    expect(msToSeconds(0)).toBe(0);
  });

  it('formats rates as percentages without rounding a partial success to 100 % or 0 %', () => {
    expect(formatPercent(null)).toBe('—');
    expect(formatPercent(1)).toBe('100 %');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.9731)).toBe('97.3 %');
    expect(formatPercent(0.99996)).toBe('99.9 %');
    expect(formatPercent(0.00001)).toBe('0.1 %');
  });

  it('formats items per second and durations', () => {
    expect(formatRate(null)).toBe('—');
    expect(formatRate(12.345)).toBe('12.3');
    expect(formatRate(4321.6)).toBe('4,322');
    expect(formatSeconds(0.04)).toBe('0.0 s');
    expect(formatSeconds(2.46)).toBe('2.5 s');
    expect(formatSeconds(42.4)).toBe('42 s');
    expect(formatSeconds(185)).toBe('3 min 5 s');
    expect(formatSeconds(7800)).toBe('2 h 10 min');
    expect(formatSeconds(null)).toBe('—');
  });

  it('shows day buckets as UTC dates and hour buckets in the given time zone', () => {
    expect(formatBucket('2026-11-20T00:00:00Z', 'day')).toBe('20 Nov 2026');
    expect(formatBucket('2026-11-26T13:00:00Z', 'hour', 'UTC')).toBe('26 Nov, 13:00');
    expect(formatBucket('2026-11-26T13:00:00Z', 'hour', 'Europe/Berlin')).toBe('26 Nov, 14:00');
  });
});

describe('formatTick', () => {
  it('labels day ticks with the UTC date and hour ticks with the time, or the date at midnight', () => {
    expect(formatTick(Date.parse('2026-11-20T00:00:00Z') / 1000, 'day')).toBe('20 Nov');
    expect(formatTick(Date.parse('2026-11-26T13:00:00Z') / 1000, 'hour', 'UTC')).toBe('13:00');
    expect(formatTick(Date.parse('2026-11-26T00:00:00Z') / 1000, 'hour', 'UTC')).toBe('26 Nov');
    expect(formatTick(Date.parse('2026-11-25T23:00:00Z') / 1000, 'hour', 'Europe/Berlin')).toBe('26 Nov');
  });
});

describe('chart descriptions', () => {
  const range = { from: '2026-11-26T09:00:00Z', to: '2026-11-26T12:00:00Z', bucket: 'hour' as const };

  it('names the span, the buckets with jobs and the peak', () => {
    const data = toChartData({
      range,
      series: [point('2026-11-26T09:00:00Z'), ran('2026-11-26T10:00:00Z', 120, 1500, 2500), ran('2026-11-26T11:00:00Z', 60, 3000, 65000)],
    });
    expect(describeItemsPerSecond(data, 'hour', 'UTC')).toBe(
      'Items per second over 3 hours, 26 Nov, 09:00 to 26 Nov, 11:00. 2 of 3 hours had sync jobs. ' +
        'Highest 120 items per second (26 Nov, 10:00); mean over those hours 90.0.',
    );
    expect(describeDurations(data, 'hour', 'UTC')).toBe(
      'Job duration over 3 hours, 26 Nov, 09:00 to 26 Nov, 11:00. 2 of 3 hours had sync jobs. Highest hourly average 3.0 s; ' +
        'the longest job took 1 min 5 s (26 Nov, 11:00).',
    );
  });

  it('says so when no job ran', () => {
    const data = toChartData({ range, series: [] });
    expect(describeItemsPerSecond(data, 'hour', 'UTC')).toMatch(/No sync job ran in this range\.$/);
    expect(describeDurations(data, 'hour', 'UTC')).toMatch(/No sync job ran in this range\.$/);
  });
});
