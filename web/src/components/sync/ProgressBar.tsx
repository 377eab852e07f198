import { formatNumber } from '../../lib/format';

interface Props {
  /** Names the job, so that a screen reader says which sync this bar belongs to. */
  label: string;
  percent: number;
  processed: number;
  total: number;
  paused?: boolean;
  small?: boolean;
}

/** A real progressbar: role, value range and a text value that says what the percent means. */
export function ProgressBar({ label, percent, processed, total, paused, small }: Props) {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <div
      className={`bar${paused ? ' paused' : ''}${small ? ' small' : ''}`}
      role="progressbar"
      aria-label={`${label} progress`}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
      aria-valuetext={`${value}% (${formatNumber(processed)} of ${formatNumber(total)} items)`}
    >
      <span style={{ width: `${value}%` }} />
    </div>
  );
}
