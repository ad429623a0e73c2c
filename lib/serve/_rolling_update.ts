/**
 * The rolling update of one deployment (issue 15): replicas of the old version are replaced one
 * at a time. When the cluster has the CPUs for one more replica, a newcomer starts first and an
 * old replica drains only once the newcomer is RUNNING, so capacity never drops; when it has
 * not, the old replica drains first and the newcomer takes its CPUs, so capacity drops by one
 * replica at most. A drained replica finishes its in-flight requests (no request fails).
 *
 * @module
 */
import type { ManagedReplica, ReplicaSet } from "../fleet/mod.ts";
import type { LogLevel } from "./types.ts";

/** How a rolling update ended. */
export type RollOutResult = "done" | "failed" | "stopped";

/** What a rolling update reads and drives of a deployment (the deployment builds it). */
export interface RollingView<R extends { readonly id: string; state: string }> {
  readonly name: string;
  isStopped(): boolean;
  /** The deployment gave up starting replicas of the new version. */
  isFailed(): boolean;
  /** Live (not STOPPING) replicas of an older version, oldest first. */
  outdated(): R[];
  /** RUNNING replicas of the current version. */
  runningCurrent(): number;
  /** PENDING_ALLOCATION or STARTING replicas of the current version. */
  startingCurrent(): number;
  /** Whether the cluster has free CPUs for one more replica of the current version. */
  newcomerFits(): boolean;
  /** One replica above the target (not seen by the autoscaler). */
  surge(): void;
  /** Undoes {@linkcode RollingView.surge} without retiring anyone (the update failed). */
  unsurge(): void;
  /** Drains `r` and lowers the target by one (`surged`: the surge ends with it). */
  retire(r: R, surged: boolean): void;
  /** Drains `r` and asks for a new replica in its place. */
  replace(r: R): void;
  /** Resolves on the next replica change or status change. */
  changed(): Promise<void>;
}

/** Replaces every outdated replica of `view`; see the module doc. */
export async function rollOut<R extends { readonly id: string; state: string }>(
  view: RollingView<R>,
  options: { log?: (line: string, level?: LogLevel) => void } = {},
): Promise<RollOutResult> {
  const log = options.log ?? (() => {});
  let replaced = 0;
  for (;;) {
    if (view.isStopped()) return "stopped";
    if (view.isFailed()) {
      log(`rolling update stopped: new replicas fail to start; old replicas keep serving`, "WARN");
      return "failed";
    }
    const old = view.outdated();
    if (old.length === 0) {
      log(`rolling update complete: ${replaced} replica(s) replaced`);
      return "done";
    }
    // An old replica that is not serving yet goes at once, a new one in its place.
    const idle = old.find((r) => r.state !== "RUNNING");
    if (idle !== undefined) {
      view.replace(idle);
      replaced++;
      continue;
    }
    const victim = old[0];
    const before = view.runningCurrent();
    const surged = view.newcomerFits();
    if (surged) {
      view.surge();
      log(`rolling update: starting a new replica before draining ${victim.id}`);
    } else {
      view.replace(victim);
      log(`rolling update: no free CPUs for a newcomer; draining ${victim.id} first`);
    }
    // Wait until a newcomer runs, or nothing is starting any more (an autoscaler downscale took
    // it), or the deployment failed or stopped.
    while (
      view.runningCurrent() <= before && view.startingCurrent() > 0 && !view.isStopped() &&
      !view.isFailed()
    ) {
      await view.changed();
    }
    if (view.isStopped()) return "stopped";
    if (surged) {
      if (view.isFailed() && view.runningCurrent() <= before) {
        view.unsurge();
        continue;
      }
      view.retire(victim, true);
    }
    replaced++;
  }
}

/**
 * A deployment's replica versions: the version new replicas get, each replica's, the surge (a
 * rolling update's newcomer above the autoscaler's target) and waiters for the next change.
 */
export class ReplicaVersions<R extends ManagedReplica> {
  /** The version new replicas get (1 at deploy). */
  version = 1;
  /** Replicas above the autoscaler's target while a newcomer starts. */
  surge = 0;
  readonly #of = new WeakMap<R, number>();
  readonly #waiters = new Set<() => void>();

  /** Marks a new replica with the current version. */
  stamp(r: R): void {
    this.#of.set(r, this.version);
  }

  /** `r`'s version. */
  of(r: R): number {
    return this.#of.get(r) ?? this.version;
  }

  /** Whether `r` runs the current version. */
  isCurrent(r: R): boolean {
    return this.of(r) === this.version;
  }

  /** Wakes everyone waiting in {@linkcode ReplicaVersions.changed}. */
  wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves on the next {@linkcode ReplicaVersions.wake}. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  /** The {@linkcode RollingView} of `set` for {@linkcode rollOut}. */
  view(
    set: ReplicaSet<R>,
    hooks: Pick<RollingView<R>, "name" | "isStopped" | "isFailed" | "newcomerFits">,
  ): RollingView<R> {
    const live = (r: R) => r.state !== "STOPPING";
    const current = (states: string[]) =>
      set.replicas.filter((r) => states.includes(r.state) && this.isCurrent(r)).length;
    return {
      ...hooks,
      outdated: () => set.replicas.filter((r) => live(r) && !this.isCurrent(r)),
      runningCurrent: () => current(["RUNNING"]),
      startingCurrent: () => current(["PENDING_ALLOCATION", "STARTING"]),
      surge: () => {
        this.surge++;
        set.setTarget(set.target + 1);
      },
      unsurge: () => {
        this.surge--;
        set.setTarget(Math.max(0, set.target - 1));
      },
      retire: (r, surged) => {
        if (surged) this.surge--;
        if (live(r)) set.retire(r);
        else if (surged) set.setTarget(Math.max(0, set.target - 1));
      },
      replace: (r) => {
        set.retire(r);
        set.setTarget(set.target + 1);
      },
      changed: () => this.changed(),
    };
  }
}
