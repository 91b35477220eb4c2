// Counting tests use hour windows; do not start one in the last seconds of an hour.
import { sleep } from '../../launcher/wait.js';

export async function awayFromHourEdge(marginSeconds = 15): Promise<void> {
  const intoHour = (Date.now() / 1000) % 3600;
  if (intoHour > 3600 - marginSeconds) await sleep((3601 - intoHour) * 1000);
}
