// The JSON shapes of the mladmin API, generated from docs/openapi.yaml (web/scripts/openapi-types.mjs
// writes generated/openapi.ts before tsc runs). Change the YAML, not these names: they only give
// the generated schemas the names the dashboard uses. Timestamps are ISO 8601 strings.
import type { components } from '../../generated/openapi';

type Schemas = components['schemas'];

export type Role = Schemas['Role'];
export type UserStatus = Schemas['UserStatus'];
export type User = Schemas['User'];
export type Session = Schemas['Session'];

export type JobType = Schemas['JobType'];
export type JobStatus = Schemas['JobStatus'];
export type SyncMode = Schemas['SyncMode'];
export type ItemError = Schemas['ItemError'];
/** An item error as `GET /api/ml/sync/job/{jobId}/errors` lists it (with its attempt). */
export type JobItemError = Schemas['JobItemError'];
export type Job = Schemas['Job'];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type DocumentType = Schemas['SourceType'];
export type DocumentFilter = Schemas['DocumentFilter'];
export type DocumentOwner = Schemas['DocumentOwner'];
/** A document; the listing adds its highlights (`DocumentHit`). */
export type MlDocument = Schemas['Document'] & Partial<Omit<Schemas['DocumentHit'], keyof Schemas['Document']>>;

export type ApiErrorBody = Schemas['ErrorBody'];
