import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatDateTime,
  formatDuration,
  formatEta,
  formatNumber,
  formatPercent,
  formatRate,
  formatStatus,
  isoFromLocalDate,
} from './format';

describe('formatNumber', () => {
  it('groups thousands the en-US way', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(-1200)).toBe('-1,200');
    expect(formatNumber(999.6)).toBe('1,000');
  });
  it('is null/NaN safe', () => {
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
    expect(formatNumber(NaN)).toBe('—');
    expect(formatNumber(Infinity)).toBe('—');
  });
});

describe('formatPercent', () => {
  it('formats a 0-100 value', () => {
    expect(formatPercent(42)).toBe('42%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(99.95, 1)).toBe('100%');
    expect(formatPercent(12.34, 1)).toBe('12.3%');
    expect(formatPercent(null)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('picks the unit by size', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(999.4)).toBe('999 ms');
    expect(formatDuration(3400)).toBe('3.4 s');
    expect(formatDuration(9960)).toBe('10 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
    expect(formatDuration(27 * 3_600_000)).toBe('1 d 03 h');
  });
  it('is null safe and never negative', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(-5)).toBe('0 ms');
  });
});

describe('formatEta', () => {
  it('shows unknown, under a second and whole seconds', () => {
    expect(formatEta(null)).toBe('—');
    expect(formatEta(undefined)).toBe('—');
    expect(formatEta(0)).toBe('< 1 s');
    expect(formatEta(0.4)).toBe('< 1 s');
    expect(formatEta(3)).toBe('3 s');
    expect(formatEta(125)).toBe('2 min 05 s');
    expect(formatEta(3720)).toBe('1 h 02 min');
    expect(formatEta(9_223_372_036_854_775_807)).toBe('> 100 d');
  });
});

describe('formatRate', () => {
  it('groups big rates and keeps small ones readable', () => {
    expect(formatRate(10234.4)).toBe('10,234 items/s');
    expect(formatRate(12.34)).toBe('12.3 items/s');
    expect(formatRate(0.5)).toBe('0.5 items/s');
    expect(formatRate(0)).toBe('0 items/s');
    expect(formatRate(null)).toBe('—');
    expect(formatRate(NaN)).toBe('—');
  });
});

describe('formatDateTime', () => {
  it('is compact and follows the time zone', () => {
    expect(formatDateTime('2026-03-14T09:26:53.120Z', { timeZone: 'UTC' })).toBe('2026-03-14 09:26:53');
    expect(formatDateTime('2026-03-14T00:05:00Z', { timeZone: 'UTC', seconds: false })).toBe('2026-03-14 00:05');
    expect(formatDateTime('2026-03-14T09:26:53Z', { timeZone: 'America/New_York' })).toBe('2026-03-14 05:26:53');
    expect(formatDateTime('2026-01-01T02:00:00Z', { timeZone: 'Asia/Tokyo' })).toBe('2026-01-01 11:00:00');
  });
  it('is null safe', () => {
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('')).toBe('—');
    expect(formatDateTime('not a date')).toBe('—');
  });
});

describe('formatStatus', () => {
  it('labels the known statuses and humanizes others', () => {
    expect(formatStatus('running')).toBe('Running');
    expect(formatStatus('cancelled')).toBe('Cancelled');
    expect(formatStatus('interrupted')).toBe('Interrupted');
    expect(formatStatus('some_new_state')).toBe('Some new state');
    expect(formatStatus(undefined)).toBe('—');
  });
});

describe('isoFromLocalDate', () => {
  const saved = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'America/New_York';
  });
  afterAll(() => {
    process.env.TZ = saved;
  });

  it('gives the local day start, and the next day start as the exclusive end', () => {
    expect(isoFromLocalDate('2026-03-14')).toBe('2026-03-14T04:00:00.000Z');
    expect(isoFromLocalDate('2026-03-14', 'start')).toBe('2026-03-14T04:00:00.000Z');
    expect(isoFromLocalDate('2026-03-14', 'end')).toBe('2026-03-15T04:00:00.000Z');
    // Across the DST change (8 March 2026 in New York) the day is 23 hours long.
    expect(isoFromLocalDate('2026-03-07', 'end')).toBe('2026-03-08T05:00:00.000Z');
    expect(isoFromLocalDate('2026-12-31', 'end')).toBe('2027-01-01T05:00:00.000Z');
  });

  it('refuses empty and invalid input', () => {
    expect(isoFromLocalDate('')).toBeUndefined();
    expect(isoFromLocalDate(null)).toBeUndefined();
    expect(isoFromLocalDate('2026-02-30')).toBeUndefined();
    expect(isoFromLocalDate('14/03/2026')).toBeUndefined();
  });
});
