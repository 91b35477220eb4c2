// Milliseconds → proto3 JSON durations ("0.25s").
export function durationOf(milliseconds: number): string {
  return milliseconds % 1000 === 0 ? `${milliseconds / 1000}s` : `${(milliseconds / 1000).toFixed(3).replace(/0+$/, '')}s`;
}
