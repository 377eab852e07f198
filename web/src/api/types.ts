// The JSON shapes of the mladmin API, generated from docs/openapi.yaml (web/scripts/openapi-types.mjs
// writes generated/openapi.ts before tsc runs). Change the YAML, not these names: they only give
// the generated schemas and operations the names the dashboard uses. Timestamps are ISO 8601 strings.
import type { components, operations } from '../../generated/openapi';

type Schemas = components['schemas'];
type OperationId = keyof operations;

/** The JSON request body of an operation, named by its operationId in docs/openapi.yaml. */
export type RequestBody<Op extends OperationId> = operations[Op] extends { requestBody?: infer R }
  ? NonNullable<R> extends { content: { 'application/json': infer B } }
    ? B
    : never
  : never;

/** The JSON answer of an operation with the given status (200 unless said). */
export type ResponseBody<Op extends OperationId, Status extends number = 200> = operations[Op]['responses'] extends {
  [S in Status]: { content: { 'application/json': infer B } };
}
  ? B
  : never;

export type Role = Schemas['Role'];
export type UserStatus = Schemas['UserStatus'];
export type User = Schemas['User'];
export type Session = Schemas['Session'];
export type LoginRequest = RequestBody<'login'>;

export type UserPage = Schemas['UserPage'];
export type UserCreate = RequestBody<'createUser'>;
export type UserChange = RequestBody<'updateUser'>;
export type UserBulkRequest = RequestBody<'bulkUsers'>;
export type UserBulkResult = ResponseBody<'bulkUsers'>;

export type JobType = Schemas['JobType'];
export type JobStatus = Schemas['JobStatus'];
export type SyncMode = Schemas['SyncMode'];
export type SyncStart = Schemas['SyncStart'];
export type ItemError = Schemas['ItemError'];
/** An item error as `GET /api/ml/sync/job/{jobId}/errors` lists it (with its attempt). */
export type JobItemError = Schemas['JobItemError'];
export type JobItemErrorPage = ResponseBody<'listJobErrors'>;
export type Job = Schemas['Job'];
export type JobPage = Schemas['JobPage'];

export type DocumentType = Schemas['SourceType'];
export type DocumentFilter = Schemas['DocumentFilter'];
export type DocumentOwner = Schemas['DocumentOwner'];
/** A document; the listing adds its highlights (`DocumentHit`). */
export type MlDocument = Schemas['Document'] & Partial<Omit<Schemas['DocumentHit'], keyof Schemas['Document']>>;
export type DocumentPage = ResponseBody<'listDocuments'>;

/** `GET /api/ml/service`: the external ML service sink on this node (docs/ml-service-api.md). */
export type MlServiceStatus = Schemas['MlServiceStatus'];

export type ApiErrorBody = Schemas['ErrorBody'];
