import { apiRaw } from '../../api/client';
import type { QueryParams } from '../../api/client';

/**
 * Downloads an API answer as a file. The token travels in the Authorization header (never in a
 * URL), so the browser can't follow a plain link: fetch, then save the body from a blob URL.
 */
export async function downloadFrom(path: string, params: QueryParams, filename: string): Promise<void> {
  const res = await apiRaw(path, { params });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
