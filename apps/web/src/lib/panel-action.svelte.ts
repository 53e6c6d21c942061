import { invalidate } from '$app/navigation';

/**
 * One write from a panel (create, revoke, change a role): busy while it runs, its refusal kept for
 * the panel to show, and the panel's data loaded again after it.
 */
export class PanelAction {
  busy = $state(false);
  problem: string | null = $state(null);

  constructor(private readonly reloads: readonly `api:${string}`[]) {}

  async run(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.problem = null;
    try {
      await work();
      for (const key of this.reloads) await invalidate(key);
    } catch (error) {
      this.problem = error instanceof Error ? error.message : String(error);
    } finally {
      this.busy = false;
    }
  }
}
