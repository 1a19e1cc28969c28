/** Time source of the queue, debouncer and informers: real in production, fake in unit tests. */
export interface Clock {
    now(): number;
    /** Runs `fn` after `ms`; returns a cancel function. */
    setTimer(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
    now: () => Date.now(),
    setTimer(ms, fn) {
        // Node fires a timeout past 2^31-1 ms at once (TimeoutOverflowWarning): clamp, so a long wait stays long.
        const t = setTimeout(fn, Math.min(2 ** 31 - 1, Math.max(0, ms)));
        return () => clearTimeout(t);
    },
};

/** A promise that resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
    return new Promise((resolve) => clock.setTimer(ms, resolve));
}

/**
 * A sleep that a stop can cut short: `wake` resolves the pending sleep at once, so shutdown never waits out a
 * backoff or a lease retry period.
 */
export class WakeableSleep {
    private wakeFn?: () => void;

    constructor(private readonly clock: Clock) {}

    sleep(ms: number): Promise<void> {
        return new Promise((r) => {
            const cancel = this.clock.setTimer(ms, r);
            this.wakeFn = () => {
                cancel();
                r();
            };
        });
    }

    wake(): void {
        this.wakeFn?.();
    }
}

/** Manually advanced clock for unit tests: timers fire in due order when `advance` passes them. */
export class FakeClock implements Clock {
    private t: number;
    private seq = 0;
    private timers: { at: number; seq: number; fn: () => void }[] = [];

    constructor(start = 1_000_000) {
        this.t = start;
    }

    now(): number {
        return this.t;
    }

    setTimer(ms: number, fn: () => void): () => void {
        const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
        this.timers.push(timer);
        return () => {
            this.timers = this.timers.filter((x) => x !== timer);
        };
    }

    pending(): number {
        return this.timers.length;
    }

    /** Moves time forward, firing due timers (and timers they schedule) in order; yields to microtasks between. */
    async advance(ms: number): Promise<void> {
        const end = this.t + ms;
        for (;;) {
            await flushMicrotasks();
            this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
            const next = this.timers[0];
            if (!next || next.at > end) break;
            this.timers.shift();
            this.t = Math.max(this.t, next.at);
            next.fn();
        }
        this.t = end;
        await flushMicrotasks();
    }
}

export async function flushMicrotasks(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
}
