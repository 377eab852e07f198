import { describe, expect, it } from 'vitest';
import { apiFilter, readSearch } from './search';
import { readUserSearch, userListParams } from '../users/params';

// CTest runs Vitest with TZ=UTC; the bounds below are the reader's local days in any zone.
const localStart = (y: number, m: number, d: number) => new Date(y, m - 1, d).toISOString();

describe('date filters are local days, the same on every page', () => {
  it('documents: from is the first moment of its day, to the first moment after its day', () => {
    const f = apiFilter(readSearch(new URLSearchParams('q=tea&from=2026-03-01&to=2026-03-31')));
    expect(f.from).toBe(localStart(2026, 3, 1));
    expect(f.to).toBe(localStart(2026, 4, 1));
  });

  it('users: createdFrom and createdTo bound whole local days', () => {
    const p = userListParams(readUserSearch(new URLSearchParams('createdFrom=2026-02-28&createdTo=2026-02-28')), null, 50);
    expect(p.createdFrom).toBe(localStart(2026, 2, 28));
    expect(p.createdTo).toBe(localStart(2026, 3, 1));
  });
});
