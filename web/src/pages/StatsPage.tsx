// Stats (README.md "The web dashboard"; GET /api/ml/stats): how sync jobs did over a range — summary cards, items per
// second and job durations over time — with the documents by type, the top owners and the
// failures by kind. The query key is ['stats', range]: the live layer invalidates ['stats'] when a
// job finishes, which refetches whichever range is shown.
import { useMemo } from 'react';
import type { ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api } from '../api/client';
import { Empty, ErrorState, Loading } from '../components/States';
import { DurationChart, ItemsPerSecondChart } from '../components/stats/StatsCharts';
import {
  DEFAULT_RANGE,
  RANGES,
  bucketNoun,
  formatCount,
  formatPercent,
  isRangeKey,
  rangeQuery,
  toChartData,
  type RangeKey,
} from '../components/stats/transform';
import type { FailureKind, StatsReport, TopUser, TypeCounts } from '../components/stats/types';

const TOP_USERS = 10;

const TYPE_LABELS: Record<keyof TypeCounts, string> = { journal_entries: 'Journal entries', goals: 'Goals' };
const TYPES = Object.keys(TYPE_LABELS) as (keyof TypeCounts)[];

export default function StatsPage() {
  const [params, setParams] = useSearchParams();
  const raw = params.get('range');
  const range: RangeKey = isRangeKey(raw) ? raw : DEFAULT_RANGE;

  const query = useQuery({
    queryKey: ['stats', range],
    // The range ends when the request is made, so a refetch (after a job finishes) moves it along.
    queryFn: ({ signal }) =>
      api<StatsReport>('/api/ml/stats', { params: { ...rangeQuery(range, Date.now()), top: TOP_USERS }, signal }),
  });

  function changeRange(next: string) {
    setParams(
      (p) => {
        const copy = new URLSearchParams(p);
        if (next === DEFAULT_RANGE) copy.delete('range');
        else copy.set('range', next);
        return copy;
      },
      { replace: true },
    );
  }

  return (
    <section className="page stats-page" aria-labelledby="stats-title">
      <div className="page-head">
        <h1 id="stats-title">Stats</h1>
        <div className="row">
          <label>
            Range
            <select value={range} onChange={(e) => changeRange(e.target.value)}>
              {RANGES.map((r) => (
                <option key={r.key} value={r.key}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {query.isPending ? (
        <Loading label="Loading stats…" />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : (
        <StatsReportView report={query.data} />
      )}
    </section>
  );
}

function StatsReportView({ report }: { report: StatsReport }) {
  const chart = useMemo(() => toChartData(report), [report]);
  const { bucket } = report.range;
  const jobs = report.jobs;
  const jobCount = jobs.completed + jobs.failed + jobs.cancelled;
  const pending = report.pending.journal_entries + report.pending.goals;
  const from = new Date(report.range.from);
  const to = new Date(report.range.to);
  const when: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' };

  return (
    <>
      <p className="muted stats-range">
        Sync jobs that ended from <time dateTime={report.range.from}>{from.toLocaleString('en-GB', when)}</time> to{' '}
        <time dateTime={report.range.to}>{to.toLocaleString('en-GB', when)}</time>, per{' '}
        {bucket === 'day' ? 'UTC day' : 'hour'}. Documents and pending changes are counted now.
      </p>

      <section aria-labelledby="stats-summary">
        <h2 id="stats-summary" className="sr-only">
          Summary
        </h2>
        <div className="cards stats-cards">
          <Card label="Documents" value={formatCount(report.documents.total)}>
            {TYPES.map((t) => `${formatCount(report.documents.byType[t])} ${TYPE_LABELS[t].toLowerCase()}`).join(', ')}
          </Card>
          <Card label="Job success rate" value={formatPercent(jobs.successRate)}>
            {jobCount === 0
              ? 'No sync jobs ended in this range'
              : `${formatCount(jobs.completed)} completed, ${formatCount(jobs.failed)} failed, ${formatCount(jobs.cancelled)} cancelled`}
          </Card>
          <Card label="Item success rate" value={formatPercent(jobs.items.successRate)}>
            Synced or unchanged, of all items processed
          </Card>
          <Card label="Items synced" value={formatCount(jobs.items.synced)}>
            {formatCount(jobs.items.skipped)} unchanged (skipped)
          </Card>
          <Card label="Pending changes" value={formatCount(pending)}>
            For the next all-users sync
          </Card>
          <Card label="Failed items" value={formatCount(jobs.items.failed)} tone={jobs.items.failed > 0 ? 'bad' : undefined}>
            {failureKinds(report.failures.items.length)}
          </Card>
        </div>
      </section>

      {jobCount === 0 ? (
        <Empty>
          No sync jobs ended in the {rangeLabel(report)}. Start a sync on the Sync page; the charts fill in when it
          finishes.
        </Empty>
      ) : chart.bucketsWithJobs === 0 ? (
        <Empty>The sync jobs of this range were all cancelled before they started: there is nothing to chart.</Empty>
      ) : (
        <div className="stats-charts">
          <ItemsPerSecondChart data={chart} bucket={bucket} />
          <DurationChart data={chart} bucket={bucket} />
        </div>
      )}

      <div className="stats-grid">
        <DocumentsByType report={report} />
        <TopUsers users={report.documents.topUsers} />
      </div>

      <section className="panel" aria-labelledby="stats-failures">
        <h2 id="stats-failures">Failures by kind</h2>
        {report.failures.items.length === 0 && report.failures.jobs.length === 0 ? (
          <Empty>No item or job failed in this range.</Empty>
        ) : (
          <>
            <FailureTable title="Item failures" rows={report.failures.items} empty="No item failed in this range." />
            <FailureTable title="Job failures" rows={report.failures.jobs} empty="No job failed in this range." />
          </>
        )}
      </section>
    </>
  );
}

/** The server lists the 20 most frequent kinds: 20 means "20 or more". */
function failureKinds(n: number): string {
  if (n === 0) return 'None';
  return n >= 20 ? '20 or more kinds of failure' : `${n} ${n === 1 ? 'kind' : 'kinds'} of failure`;
}

function rangeLabel(report: StatsReport): string {
  const n = report.series.length;
  return n > 0 ? `last ${n} ${bucketNoun(report.range.bucket, n)}` : 'selected range';
}

function Card({ label, value, tone, children }: { label: string; value: string; tone?: 'bad'; children?: ReactNode }) {
  return (
    <div className={tone ? `card card-${tone}` : 'card'}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      {children && <div className="detail">{children}</div>}
    </div>
  );
}

function DocumentsByType({ report }: { report: StatsReport }) {
  const total = report.documents.total;
  return (
    <section className="panel" aria-labelledby="stats-by-type">
      <h2 id="stats-by-type">Documents by type</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col" className="num">
                Documents
              </th>
              <th scope="col" className="share-col">
                <span className="sr-only">Share</span>
              </th>
              <th scope="col" className="num">
                Pending
              </th>
            </tr>
          </thead>
          <tbody>
            {TYPES.map((t) => {
              const n = report.documents.byType[t];
              const share = total > 0 ? (n / total) * 100 : 0;
              return (
                <tr key={t}>
                  <th scope="row">{TYPE_LABELS[t]}</th>
                  <td className="num">{formatCount(n)}</td>
                  <td className="share-col">
                    <div className="bar small" aria-hidden="true">
                      <span style={{ width: `${share}%` }} />
                    </div>
                    <span className="sr-only">{Math.round(share)} %</span>
                  </td>
                  <td className="num">{formatCount(report.pending[t])}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function TopUsers({ users }: { users: TopUser[] }) {
  return (
    <section className="panel" aria-labelledby="stats-top-users">
      <h2 id="stats-top-users">Top users</h2>
      {users.length === 0 ? (
        <Empty>No documents yet.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">The owners with the most documents</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col" className="num">
                  Journal
                </th>
                <th scope="col" className="num">
                  Goals
                </th>
                <th scope="col" className="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.userId}>
                  <th scope="row">
                    <span className="user-cell">
                      {u.email === null ? (
                        <>
                          <span>Deleted user</span>
                          <span className="muted id">{u.userId}</span>
                        </>
                      ) : (
                        <>
                          <span>{u.name || u.email}</span>
                          {u.name && <span className="muted">{u.email}</span>}
                        </>
                      )}
                    </span>
                  </th>
                  <td className="num">{formatCount(u.byType.journal_entries)}</td>
                  <td className="num">{formatCount(u.byType.goals)}</td>
                  <td className="num">{formatCount(u.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function FailureTable({ title, rows, empty }: { title: string; rows: FailureKind[]; empty: string }) {
  return (
    <div className="failure-group">
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col" className="num">
                  Count
                </th>
                <th scope="col">Example</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((f) => (
                <tr key={f.reason}>
                  <th scope="row" className="failure-kind">
                    {f.reason}
                  </th>
                  <td className="num">{formatCount(f.count)}</td>
                  <td className="failure-example">{f.example === f.reason ? '—' : f.example}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

