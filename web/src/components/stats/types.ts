// The answer of GET /api/ml/stats (src/api/stats.cpp; README "Stats"), generated from
// docs/openapi.yaml like every API type (src/api/types.ts). Kept next to the Stats page because
// nothing else reads it: these are only names for parts of the `Stats` schema.
import type { components } from '../../../generated/openapi';

type Schemas = components['schemas'];

export type StatsReport = Schemas['Stats'];
export type StatsBucket = StatsReport['range']['bucket'];
export type TypeCounts = Schemas['TypeCounts'];
/** An owner with the most documents; email and name are null for a deleted user, whose documents stay. */
export type TopUser = StatsReport['documents']['topUsers'][number];
/** One bucket of the series (its start is the UTC hour or day); empty buckets come with zeros. */
export type StatsPoint = StatsReport['series'][number];
/** A kind of failure: the reason with its values replaced, its count, and one actual reason of that kind. */
export type FailureKind = Schemas['FailureCount'];
