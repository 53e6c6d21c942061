import cliProgress from 'cli-progress';

/** Reports how far a long job has got: a bar on a terminal, a log line every 10% elsewhere. */
export interface Progress {
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

export function createProgress(
  label: string,
  log: (message: string) => void,
  interactive = process.stderr.isTTY,
): Progress {
  if (interactive) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`,
        hideCursor: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total) => bar.start(total, 0),
      update: (done) => bar.update(done),
      stop: () => bar.stop(),
    };
  }
  let total = 0;
  let nextReport = 0;
  return {
    start: (t) => {
      total = Math.max(1, t);
      nextReport = 0.1;
      log(`${label}: 0%`);
    },
    update: (done) => {
      const share = done / total;
      if (share >= nextReport && share < 1) {
        log(
          `${label}: ${Math.floor(share * 100)}% (${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')})`,
        );
        nextReport = Math.floor(share * 10) / 10 + 0.1;
      }
    },
    stop: () => log(`${label}: done`),
  };
}

/** A progress sink that reports nothing (tests, nested jobs). */
export const silentProgress: Progress = {
  start: () => undefined,
  update: () => undefined,
  stop: () => undefined,
};
