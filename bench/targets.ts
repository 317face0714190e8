/**
 * Targets the bench checks (issue 16): each section records its ratio next to its target; the
 * runner prints them all at the end and fails the run when one is missed, unless
 * BENCH_REPORT_ONLY=1 (a loaded machine, a report for the README).
 */
export interface TargetResult {
  name: string;
  value: number;
  /** How the value is printed: a ratio (×) or milliseconds. */
  unit: '×' | 'ms';
  /** `atLeast`: the value must be >= target; `atMost`: <= target. */
  kind: 'atLeast' | 'atMost';
  target: number;
  met: boolean;
}

const results: TargetResult[] = [];

export function checkTarget(name: string, value: number, kind: TargetResult['kind'], target: number, unit: TargetResult['unit'] = '×'): TargetResult {
  const met = Number.isFinite(value) && (kind === 'atLeast' ? value >= target : value <= target);
  const result = { name, value, unit, kind, target, met };
  results.push(result);
  return result;
}

export function formatValue(value: number, unit: TargetResult['unit']): string {
  return unit === '×' ? `${value.toFixed(2)}×` : `${value.toFixed(2)} ms`;
}

/** `≥ 0.80×` or `≤ 1.00 ms`, and whether it was met. */
export function formatTarget(result: TargetResult): string {
  return `${result.kind === 'atLeast' ? '≥' : '≤'} ${formatValue(result.target, result.unit)} ${result.met ? 'met' : 'MISSED'}`;
}

export function allTargets(): readonly TargetResult[] {
  return results;
}
