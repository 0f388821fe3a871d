/** One-line progress with a rate and an estimate of the time left, for long-running commands. */
export class Progress {
  readonly #start = Date.now();
  #last = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  update(done: number, extra = ''): void {
    const now = Date.now();
    if (done < this.total && now - this.#last < 250) return;
    this.#last = now;
    const secs = (now - this.#start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? Math.max(0, (this.total - done) / rate) : Number.NaN;
    const pct = this.total > 0 ? ((100 * done) / this.total).toFixed(0) : '100';
    const etaText = Number.isFinite(eta) ? `, about ${formatDuration(eta)} left` : '';
    const tty = (this.out as NodeJS.WriteStream).isTTY;
    const line = `${this.label}: ${done}/${this.total} (${pct}%)${etaText}${extra ? `, ${extra}` : ''}`;
    this.out.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    if (tty && done >= this.total) this.out.write('\n');
  }
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.ceil(seconds % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
