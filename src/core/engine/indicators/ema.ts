/** Exponential moving average, alpha = 2/(n+1), seeded with the simple mean of the first n values (SPEC §5). */
export class Ema {
  private readonly alpha: number;
  private count = 0;
  private sum = 0;
  private current: number | undefined;

  constructor(readonly length: number) {
    this.alpha = 2 / (length + 1);
  }

  get value(): number | undefined {
    return this.current;
  }

  push(x: number): number | undefined {
    if (this.current !== undefined) {
      this.current = this.current + this.alpha * (x - this.current);
    } else {
      this.count++;
      this.sum += x;
      if (this.count === this.length) this.current = this.sum / this.length;
    }
    return this.current;
  }
}
