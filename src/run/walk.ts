// The walk of one backup run over its accounts: each asset handed to the run, with back-pressure, one refused
// account of several recorded while the others go on.

import type { Asset } from '../types.js';
import type { Accounting } from './accounting.js';
import type { ResolvedBackupOptions } from './options.js';
import type { GenerationKeeper } from './records.js';
import { describe, isAccountRefusal } from './refusal.js';

/** What the walk needs of a run (run/backup.ts's Run). */
export interface WalkedRun {
  readonly o: ResolvedBackupOptions;
  readonly acct: Accounting;
  readonly signal: AbortSignal;
  readonly keeper: GenerationKeeper;
  source(account: string | undefined): AsyncGenerator<Asset>;
  plan(asset: Asset, account: string | undefined): Promise<void>;
  asset(asset: Asset, account: string | undefined): Promise<void>;
}

/**
 * Lists every account in turn and hands each asset to `run`: a dry run plans it at once, a backup adds its
 * transfers to `assets` (each removes itself once settled). Stops taking assets on abort. One account of several
 * refused is recorded and the others go on; throws when the only account, or every account, was refused.
 */
export async function walkAccounts(run: WalkedRun, assets: Set<Promise<void>>): Promise<void> {
  const { o, acct, signal } = run;
  // Backpressure: the lister stays at most this many assets ahead of the transfers, so URLs are used soon after
  // they are handed out and memory stays flat on large accounts.
  const maxQueued = 128;
  // One waiter, woken by whichever asset finishes first (Promise.race over the set would attach a reaction to
  // every pending asset per call: O(assets in flight) garbage per asset).
  let wake: (() => void) | undefined;
  let refused: unknown;
  for (const account of o.accounts) {
    if (signal.aborted) break;
    try {
      const complete = () =>
        !signal.aborted && !acct.summary.incompleteWindows.some((w) => w.account === account);
      for await (const asset of run.source(account)) {
        if (o.dryRun) {
          await run.plan(asset, account);
          continue;
        }
        while (assets.size >= maxQueued && !signal.aborted) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        if (signal.aborted) break;
        const task = run.asset(asset, account).finally(() => {
          assets.delete(task);
          wake?.();
          wake = undefined;
        });
        assets.add(task);
      }
      // A dry run writes nothing, so it keeps no record either.
      if (!o.dryRun && !signal.aborted) await run.keeper.afterWalk(account, complete(), o.mediaTypes);
    } catch (error) {
      if (signal.aborted || !isAccountRefusal(error) || o.accounts.length === 1) throw error;
      // One account refused (not configured, expired): the others are still backed up, and the run says so.
      refused ??= error;
      acct.accountFailed(account, error.code, describe(error));
    }
  }
  if (refused !== undefined && acct.summary.failedAccounts.length === o.accounts.length) throw refused;
}
