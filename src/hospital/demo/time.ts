/** Calendar arithmetic in Indian Standard Time (UTC+05:30, no daylight saving). */

const IST_OFFSET_MS = 330 * 60_000;
const DAY_MS = 86_400_000;

/** The IST calendar date (YYYY-MM-DD) of an instant. */
export function istDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new Error('invalid date');
  return new Date(d.getTime() + IST_OFFSET_MS).toISOString().slice(0, 10);
}

function dayNumber(isoDate: string): number {
  const t = Date.parse(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(t)) throw new Error(`not a date: '${isoDate}'`);
  return Math.round(t / DAY_MS);
}

export function addDays(isoDate: string, days: number): string {
  return new Date((dayNumber(isoDate) + days) * DAY_MS).toISOString().slice(0, 10);
}

export function daysBetween(fromIso: string, toIso: string): number {
  return dayNumber(toIso) - dayNumber(fromIso);
}

/** FHIR dateTime with the IST offset, for a minute of the day (may exceed 24 h: rolls over). */
export function istDateTime(isoDate: string, minuteOfDay: number): string {
  const day = addDays(isoDate, Math.floor(minuteOfDay / 1440));
  const m = ((minuteOfDay % 1440) + 1440) % 1440;
  const hh = String(Math.floor(m / 60)).padStart(2, '0');
  const mm = String(m % 60).padStart(2, '0');
  return `${day}T${hh}:${mm}:00+05:30`;
}

/** Completed years from birth date to a date. */
export function ageOn(birthDate: string, onIso: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = onIso.split('-').map(Number) as [number, number, number];
  let age = y - by;
  if (m < bm || (m === bm && d < bd)) age--;
  return age;
}
