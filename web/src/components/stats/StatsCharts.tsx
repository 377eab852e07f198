// The two charts of the Stats page. Each is a <figure> with a caption, a canvas named by a sentence
// that says what it shows (role="img"), and the same figures as a table in a <details> element, for
// screen readers and for anyone who wants the numbers.
import { useMemo } from 'react';
import uPlot from 'uplot';
import { UPlotChart } from './UPlotChart';
import {
  bucketNoun,
  describeDurations,
  describeItemsPerSecond,
  formatBucket,
  formatCount,
  formatRate,
  formatSeconds,
  formatTick,
  msToSeconds,
  bucketRan,
  type ChartData,
} from './transform';
import type { StatsBucket } from './types';

const CHART_HEIGHT = 220;
const INK = '#5b6572';
const GRID = '#e5e9ef';
const BLUE = '#2457c5';
const RED = '#b42318';
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

function timeOptions(bucket: StatsBucket, yLabel: string, yValues: (v: number) => string): Omit<uPlot.Options, 'width' | 'height' | 'series'> {
  return {
    // Day buckets are UTC days: label them as such, wherever the reader is.
    tzDate: bucket === 'day' ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : (ts) => new Date(ts * 1000),
    // No drag-to-zoom: on a phone a drag should scroll the page.
    cursor: { drag: { x: false, y: false, setScale: false } },
    legend: { live: true },
    scales: {
      x: { time: true },
      y: { range: (_u, _min, max) => uPlot.rangeNum(0, max !== null && max > 0 ? max : 1, 0.1, true) },
    },
    axes: [
      {
        stroke: INK,
        font: FONT,
        grid: { stroke: GRID, width: 1 },
        ticks: { stroke: GRID, width: 1 },
        space: 56,
        values: (_u, splits) => splits.map((ts) => formatTick(ts, bucket)),
      },
      {
        stroke: INK,
        font: FONT,
        labelFont: FONT,
        label: yLabel,
        labelSize: 18,
        size: 48,
        grid: { stroke: GRID, width: 1 },
        ticks: { stroke: GRID, width: 1 },
        values: (_u, splits) => splits.map(yValues),
      },
    ],
  };
}

function xSeries(bucket: StatsBucket): uPlot.Series {
  return {
    label: bucket === 'day' ? 'Day (UTC)' : 'Hour',
    value: (_u, ts) => (ts === null ? '—' : formatBucket(new Date(ts * 1000).toISOString(), bucket)),
  };
}

const tickNumber = (v: number) => (Math.abs(v) >= 1000 ? formatCount(v) : String(Math.round(v * 100) / 100));

type TableKind = 'rate' | 'duration';

function ChartTable({ data, bucket, kind }: { data: ChartData; bucket: StatsBucket; kind: TableKind }) {
  const caption = kind === 'rate' ? 'Items per second' : 'Job duration';
  const rows = data.points.filter((p) => p.jobs > 0);
  const n = data.points.length;
  return (
    <details className="chart-data">
      <summary>Show the figures as a table</summary>
      {rows.length === 0 ? (
        <p className="muted">No sync job ended in any of these {n} {bucketNoun(bucket, n)}.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption>
              {caption}: the {rows.length} of {n} {bucketNoun(bucket, n)} in which sync jobs ended (the others had none).
            </caption>
            <thead>
              <tr>
                <th scope="col">{bucket === 'day' ? 'Day (UTC)' : 'Hour'}</th>
                <th scope="col" className="num">Jobs</th>
                {kind === 'rate' ? (
                  <>
                    <th scope="col" className="num">Items</th>
                    <th scope="col" className="num">Items/s</th>
                  </>
                ) : (
                  <>
                    <th scope="col" className="num">Average</th>
                    <th scope="col" className="num">Longest</th>
                  </>
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => {
                const ran = bucketRan(p);
                return (
                  <tr key={p.start}>
                    <th scope="row">{formatBucket(p.start, bucket)}</th>
                    <td className="num">{formatCount(p.jobs)}</td>
                    {kind === 'rate' ? (
                      <>
                        <td className="num">{formatCount(p.items)}</td>
                        <td className="num">{ran ? formatRate(p.itemsPerSecond) : '—'}</td>
                      </>
                    ) : (
                      <>
                        <td className="num">{ran ? formatSeconds(msToSeconds(p.avgDurationMs)) : '—'}</td>
                        <td className="num">{ran ? formatSeconds(msToSeconds(p.maxDurationMs)) : '—'}</td>
                      </>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </details>
  );
}

export function ItemsPerSecondChart({ data, bucket }: { data: ChartData; bucket: StatsBucket }) {
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      ...timeOptions(bucket, 'items/s', tickNumber),
      series: [
        xSeries(bucket),
        {
          label: 'Items per second',
          stroke: BLUE,
          width: 2,
          fill: 'rgba(36, 87, 197, 0.08)',
          points: { show: true, size: 6, fill: BLUE, stroke: BLUE },
          value: (_u, v) => formatRate(v),
        },
      ],
    }),
    [bucket],
  );
  const plotData = useMemo<uPlot.AlignedData>(() => [data.x, data.itemsPerSecond], [data]);
  const label = describeItemsPerSecond(data, bucket);
  return (
    <figure className="panel chart">
      <figcaption>
        <h2>Items per second</h2>
        <span className="muted">Items processed per second of running time, per {bucketNoun(bucket, 1)}</span>
      </figcaption>
      <UPlotChart options={options} data={plotData} height={CHART_HEIGHT} label={label} />
      <ChartTable data={data} bucket={bucket} kind="rate" />
    </figure>
  );
}

export function DurationChart({ data, bucket }: { data: ChartData; bucket: StatsBucket }) {
  const options = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(
    () => ({
      ...timeOptions(bucket, 'seconds', tickNumber),
      series: [
        xSeries(bucket),
        // Longest first, so that the average is drawn over it where one job makes them equal.
        {
          label: 'Longest',
          stroke: RED,
          width: 2,
          dash: [6, 4],
          points: { show: true, size: 9, fill: '#ffffff', stroke: RED },
          value: (_u, v) => formatSeconds(v),
        },
        {
          label: 'Average',
          stroke: BLUE,
          width: 2,
          points: { show: true, size: 6, fill: BLUE, stroke: BLUE },
          value: (_u, v) => formatSeconds(v),
        },
      ],
    }),
    [bucket],
  );
  const plotData = useMemo<uPlot.AlignedData>(() => [data.x, data.maxDurationSec, data.avgDurationSec], [data]);
  const label = describeDurations(data, bucket);
  return (
    <figure className="panel chart">
      <figcaption>
        <h2>Job duration</h2>
        <span className="muted">Average and longest sync job per {bucketNoun(bucket, 1)}, in seconds</span>
      </figcaption>
      <UPlotChart options={options} data={plotData} height={CHART_HEIGHT} label={label} />
      <ChartTable data={data} bucket={bucket} kind="duration" />
    </figure>
  );
}
